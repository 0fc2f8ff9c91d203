/**
 * Audit rows as FHIR R4 AuditEvent resources, and a filtered trail as a Bundle (type collection) streamed row by row:
 * type and subtype (DICOM or REST codes, plus the app's own action code), action (C/R/U/D/E), recorded, outcome
 * (0 success, 4 refused, 8 failure) with its reason, the agent (who, role, network address, requestor), the source
 * (observer: this app) and the entity (what, a description, and the row's PHI-free detail as entity.detail).
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle } from "@medplum/fhirtypes";
import { APP_AUDIT_ACTION_SYSTEM, auditActionInfo } from "./actions";
import type { AuditRow } from "./audit";

export const APP_ROLE_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/app-role";
/** Actors that are not FHIR references (a CDS client's iss, "system:sync", "unknown"). */
export const AUDIT_ACTOR_SYSTEM = "https://eczema-jak-monitor.dev/fhir/audit-actor";
/** The audit row's entity text ("Measure/x", "source:main", "patient:<hashed id>"). */
export const AUDIT_ENTITY_SYSTEM = "https://eczema-jak-monitor.dev/fhir/audit-entity";
const SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type";
const ENTITY_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/object-role";

export interface AuditExportContext {
  /** The observer's name. */
  appName?: string;
  /** The app's public origin, when known (the observer's identifier). */
  appUrl?: string | null;
}

const OUTCOME_CODES: Record<string, AuditEvent["outcome"]> = { success: "0", refused: "4", failure: "8" };

/** "Practitioner/1" or an absolute FHIR URL of one: a Reference; anything else: an identifier. */
function agentWho(actor: string): NonNullable<AuditEventAgent["who"]> {
  if (/^(Practitioner|PractitionerRole|Patient|RelatedPerson|Device|Organization)\/[A-Za-z0-9\-.]{1,64}$/.test(actor)) return { reference: actor };
  if (/^https?:\/\/\S+\/(Practitioner|PractitionerRole|Device|Organization)\/[A-Za-z0-9\-.]{1,64}$/.test(actor)) return { reference: actor };
  return { identifier: { system: AUDIT_ACTOR_SYSTEM, value: actor }, display: actor };
}

/** The first hop of the origin chain (the client as the app saw it). */
function networkAddress(origin: string | null): string | null {
  const first = origin?.split(",")[0]?.trim();
  return first ? first.slice(0, 64) : null;
}

function detailValue(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function entityOf(row: AuditRow, label: string): AuditEventEntity | null {
  const details = Object.entries(row.detail)
    .filter(([, value]) => value !== undefined)
    .map(([type, value]) => ({ type, valueString: detailValue(value) }))
    .filter((d) => d.valueString !== "");
  if (!row.entity && details.length === 0) return null;
  const entity: AuditEventEntity = {};
  if (row.entity) {
    entity.what = { identifier: { system: AUDIT_ENTITY_SYSTEM, value: row.entity } };
    const patient = row.entity.startsWith("patient:");
    entity.type = patient ? { system: ENTITY_TYPE_SYSTEM, code: "1", display: "Person" } : { system: ENTITY_TYPE_SYSTEM, code: "2", display: "System Object" };
    if (patient) entity.role = { system: OBJECT_ROLE_SYSTEM, code: "1", display: "Patient" };
    entity.description = patient ? `${label}: a patient, by hashed id` : `${label}: ${row.entity}`;
  } else {
    entity.description = label;
  }
  if (details.length > 0) entity.detail = details;
  return entity;
}

export function auditEventResource(row: AuditRow, ctx: AuditExportContext = {}): AuditEvent {
  const info = auditActionInfo(row.action);
  const agent: AuditEventAgent = {
    who: agentWho(row.actor),
    requestor: row.role !== "system",
  };
  if (row.role) agent.role = [{ coding: [{ system: APP_ROLE_SYSTEM, code: row.role }], text: row.role }];
  const address = networkAddress(row.origin);
  if (address) agent.network = { address, type: "2" };
  const reason = typeof row.detail.reason === "string" ? row.detail.reason : typeof row.detail.error === "string" ? row.detail.error : null;
  const event: AuditEvent = {
    resourceType: "AuditEvent",
    id: row.id,
    type: info.type,
    subtype: [...(info.subtype ? [info.subtype] : []), { system: APP_AUDIT_ACTION_SYSTEM, code: row.action, display: info.label }],
    action: info.fhirAction,
    recorded: row.at,
    outcome: OUTCOME_CODES[row.outcome] ?? "8",
    outcomeDesc: reason ? `${row.outcome}: ${reason}` : row.outcome,
    agent: [agent],
    source: {
      observer: { display: ctx.appName ?? "Eczema JAK Monitor", ...(ctx.appUrl ? { identifier: { value: ctx.appUrl } } : {}) },
      type: [{ system: SECURITY_SOURCE_TYPE, code: "4", display: "Application Server" }],
    },
  };
  const entity = entityOf(row, info.label);
  if (entity) event.entity = [entity];
  return event;
}

/** A whole Bundle in memory (small trails, tests). */
export function auditBundle(rows: readonly AuditRow[], ctx: AuditExportContext & { id: string; timestamp: Date }): Bundle<AuditEvent> {
  const bundle: Bundle<AuditEvent> = { resourceType: "Bundle", id: ctx.id, type: "collection", timestamp: ctx.timestamp.toISOString() };
  if (rows.length > 0) bundle.entry = rows.map((row) => ({ resource: auditEventResource(row, ctx) }));
  return bundle;
}

/**
 * The same Bundle as JSON text, piece by piece, reading `rows` as it goes (one row in memory at a time). FHIR JSON
 * has no empty arrays, so `entry` is written only once there is a first row.
 */
export async function* auditBundleJson(rows: AsyncIterable<AuditRow>, ctx: AuditExportContext & { id: string; timestamp: Date }): AsyncGenerator<string, void, undefined> {
  const head = JSON.stringify({ resourceType: "Bundle", id: ctx.id, type: "collection", timestamp: ctx.timestamp.toISOString() });
  yield head.slice(0, -1);
  let first = true;
  for await (const row of rows) {
    yield `${first ? ',"entry":[' : ","}${JSON.stringify({ resource: auditEventResource(row, ctx) })}`;
    first = false;
  }
  yield first ? "}" : "]}";
}
