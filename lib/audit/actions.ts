/**
 * The audited actions, with what each means and how it reads as a FHIR AuditEvent (type, subtype, action code).
 * An action not listed here is still recorded and exported (as "Application Activity"), so a new writer never
 * breaks the trail; list it here to give it a proper label and FHIR coding.
 */
import type { Coding } from "@medplum/fhirtypes";

export const DICOM_SYSTEM = "http://dicom.nema.org/resources/ontology/DCM";
export const AUDIT_EVENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-type";
export const RESTFUL_INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction";
/** The app's own action codes (the audit_events.action values). */
export const APP_AUDIT_ACTION_SYSTEM = "https://eczema-jak-monitor.dev/fhir/CodeSystem/audit-action";

/** AuditEvent.action: Create, Read, Update, Delete, Execute. */
export type FhirAuditAction = "C" | "R" | "U" | "D" | "E";

export interface AuditActionInfo {
  /** What the admin page shows. */
  label: string;
  type: Coding;
  subtype?: Coding;
  fhirAction: FhirAuditAction;
}

const dcm = (code: string, display: string): Coding => ({ system: DICOM_SYSTEM, code, display });
const rest = (code: string, display: string): Coding => ({ system: RESTFUL_INTERACTION_SYSTEM, code, display });
const REST_TYPE: Coding = { system: AUDIT_EVENT_TYPE_SYSTEM, code: "rest", display: "RESTful Operation" };
const APPLICATION_ACTIVITY = dcm("110100", "Application Activity");
const PATIENT_RECORD = dcm("110110", "Patient Record");

/** Exact action codes, as the writers use them. */
export const AUDIT_ACTIONS: Readonly<Record<string, AuditActionInfo>> = {
  launch: { label: "SMART launch", type: dcm("110114", "User Authentication"), subtype: dcm("110122", "Login"), fhirAction: "E" },
  "patient.view": { label: "Patient view (EHR launch)", type: PATIENT_RECORD, subtype: rest("read", "read"), fhirAction: "R" },
  "panel.patient-view": { label: "Panel drill-down (synced patient)", type: PATIENT_RECORD, subtype: rest("read", "read"), fhirAction: "R" },
  "record-score": { label: "Score written to the EHR", type: REST_TYPE, subtype: rest("create", "create"), fhirAction: "C" },
  "report.export": { label: "Report export", type: dcm("110106", "Export"), fhirAction: "R" },
  "cds.patient-view": { label: "CDS Hooks patient-view call", type: REST_TYPE, subtype: rest("operation", "operation"), fhirAction: "E" },
  "cds.order-sign": { label: "CDS Hooks order-sign call", type: REST_TYPE, subtype: rest("operation", "operation"), fhirAction: "E" },
  "cds.order-select": { label: "CDS Hooks order-select call", type: REST_TYPE, subtype: rest("operation", "operation"), fhirAction: "E" },
  "cds.feedback": { label: "CDS Hooks card feedback", type: REST_TYPE, subtype: rest("create", "create"), fhirAction: "C" },
  "sync.start": { label: "Sync run started", type: dcm("110107", "Import"), fhirAction: "E" },
  "sync.finish": { label: "Sync run finished", type: dcm("110107", "Import"), fhirAction: "E" },
  "sync-request": { label: "Sync requested", type: APPLICATION_ACTIVITY, fhirAction: "E" },
  "sync-cancel": { label: "Sync cancelled", type: APPLICATION_ACTIVITY, fhirAction: "E" },
  "code-coverage-refresh": { label: "Code coverage recomputed", type: APPLICATION_ACTIVITY, fhirAction: "E" },
  "code-mapping-add": { label: "Code mapping added", type: REST_TYPE, subtype: rest("create", "create"), fhirAction: "C" },
  "code-mapping-remove": { label: "Code mapping removed", type: REST_TYPE, subtype: rest("delete", "delete"), fhirAction: "D" },
  "audit.read": { label: "Audit trail read", type: dcm("110101", "Audit Log Used"), fhirAction: "R" },
  "audit.export": { label: "Audit trail exported (FHIR)", type: dcm("110101", "Audit Log Used"), fhirAction: "R" },
};

/** Role changes made in the app (role.grant, role.revoke, ...): a security-relevant change. */
const ROLE_CHANGE: AuditActionInfo = { label: "Role change", type: dcm("110113", "Security Alert"), subtype: dcm("110136", "Security Roles Changed"), fhirAction: "U" };

export function auditActionInfo(action: string): AuditActionInfo {
  const known = AUDIT_ACTIONS[action];
  if (known) return known;
  if (/^role[.-]/.test(action)) return { ...ROLE_CHANGE, label: `${ROLE_CHANGE.label} (${action})` };
  return { label: action, type: APPLICATION_ACTIVITY, fhirAction: "E" };
}

/** Prefixes worth offering in the admin page's action filter (each matches every action starting with it). */
export const AUDIT_ACTION_PREFIXES: readonly { prefix: string; label: string }[] = [
  { prefix: "launch", label: "Launches" },
  { prefix: "patient.view", label: "Patient views" },
  { prefix: "panel.patient-view", label: "Panel drill-downs" },
  { prefix: "record-score", label: "Score writes" },
  { prefix: "report.export", label: "Report exports" },
  { prefix: "cds.", label: "CDS Hooks calls" },
  { prefix: "sync", label: "Syncs (requests, cancels, runs)" },
  { prefix: "code-", label: "Code mappings and coverage" },
  { prefix: "role", label: "Role changes" },
  { prefix: "audit.", label: "Audit trail use" },
];

/** Roles an audit row may carry: the app's roles, plus the CDS client and background jobs. */
export const AUDIT_ROLE_CHOICES: readonly string[] = ["dermatologist", "clinic-lead", "quality", "admin", "cds-client", "system"];
