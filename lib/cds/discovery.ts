/**
 * The CDS services this app offers (CDS Hooks 2.0 discovery, `GET /cds-services`) and the prefetch templates they ask
 * for: the patient and the searches the engine reads (the same resource types the patient page fetches).
 */

export type CdsHook = "patient-view" | "order-sign" | "order-select";

export const CDS_SERVICE_IDS = {
  patientView: "jak-monitor-patient-view",
  orderSign: "jak-monitor-order-sign",
  orderSelect: "jak-monitor-order-select",
} as const;

export type CdsServiceId = (typeof CDS_SERVICE_IDS)[keyof typeof CDS_SERVICE_IDS];

/** Prefetch keys and their FHIR query templates. `conditions` is sent for context; the engine does not read it. */
export const PREFETCH_TEMPLATES = {
  patient: "Patient/{{context.patientId}}",
  observations: "Observation?patient={{context.patientId}}",
  medicationRequests: "MedicationRequest?patient={{context.patientId}}",
  medicationStatements: "MedicationStatement?patient={{context.patientId}}",
  medicationDispenses: "MedicationDispense?patient={{context.patientId}}",
  immunizations: "Immunization?patient={{context.patientId}}",
  procedures: "Procedure?patient={{context.patientId}}",
  conditions: "Condition?patient={{context.patientId}}",
} as const;

export type PrefetchKey = keyof typeof PREFETCH_TEMPLATES;

export interface CdsServiceDefinition {
  id: CdsServiceId;
  hook: CdsHook;
  title: string;
  description: string;
  prefetch: Record<string, string>;
  usageRequirements?: string;
}

const USAGE =
  "Send the prefetch (or fhirServer with fhirAuthorization granting read access to the patient's Patient, Observation, Medication*, Immunization and Procedure resources). Sign every call with the client's JWT.";

export const CDS_SERVICES: readonly CdsServiceDefinition[] = [
  {
    id: CDS_SERVICE_IDS.patientView,
    hook: "patient-view",
    title: "JAK inhibitor monitoring for atopic dermatitis",
    description:
      "When a chart opens: non-response at the latest closed checkpoint, no early response at week 2 or 4, missing or overdue safety labs, abnormal results and vaccination flags for a patient on a JAK inhibitor (ruxolitinib cream, upadacitinib, abrocitinib, baricitinib), each with its label or trial source.",
    prefetch: { ...PREFETCH_TEMPLATES },
    usageRequirements: USAGE,
  },
  {
    id: CDS_SERVICE_IDS.orderSign,
    hook: "order-sign",
    title: "Baseline screening before a JAK inhibitor",
    description:
      "When a JAK inhibitor order is signed: missing baseline screening (TB, hepatitis B and C, blood count, liver tests, lipids, pregnancy test) with suggested lab orders, no zoster vaccination on record, a recent live vaccine, and baseline values the label says not to start on.",
    prefetch: { ...PREFETCH_TEMPLATES },
    usageRequirements: USAGE,
  },
  {
    id: CDS_SERVICE_IDS.orderSelect,
    hook: "order-select",
    title: "Baseline screening when a JAK inhibitor is selected",
    description: "The order-sign checks, earlier: when a JAK inhibitor is selected in the order entry, for the selected draft orders.",
    prefetch: { ...PREFETCH_TEMPLATES },
    usageRequirements: USAGE,
  },
];

export function findCdsService(id: string): CdsServiceDefinition | undefined {
  return CDS_SERVICES.find((service) => service.id === id);
}

/** The discovery response body. */
export function discoveryResponse(): { services: CdsServiceDefinition[] } {
  return { services: CDS_SERVICES.map((service) => ({ ...service, prefetch: { ...service.prefetch } })) };
}
