/**
 * GET /api/patients/[id], minus HTTP: with the session's access (from lib/smart/access), check the patient
 * against the session's launch context, fetch the record (patient-record.ts), evaluate it with the engine
 * at asOf, and build the PatientViewResponse. Logs the FHIR request count, bytes and time (no PHI).
 */
import type { Patient, Resource } from "@medplum/fhirtypes";
import type { CodeMapping, PatientEvaluation } from "../clinical/types";
import { ageOn } from "../clinical/dates";
import { fetchPatientRecord, type PatientRecordOptions } from "./patient-record";
import type { ApiErrorBody, PatientHeader, PatientViewResponse } from "./patient-record-types";

export type EvaluateFn = (resources: Resource[], options: { asOf: string; codeMappings?: CodeMapping[] }) => PatientEvaluation;

export interface PatientViewInput {
  /** The id in the URL. */
  requestedPatientId: string;
  /** The session's launch patient (server-side), or null. */
  sessionPatientId: string | null;
  serverUrl: string;
  accessToken: string;
  scope: string;
  asOf: string;
  evaluate: EvaluateFn;
  rulesVersion: string;
  codeMappings?: CodeMapping[];
  fetchOptions?: PatientRecordOptions;
  log?: (event: string, fields: Record<string, string | number | boolean | null>) => void;
}

export type PatientViewResult = { status: 200; body: PatientViewResponse } | { status: 401 | 403 | 502; body: ApiErrorBody };

/** Today's date (YYYY-MM-DD) in an IANA time zone. The one place the patient view reads the clock. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  let zone = timeZone;
  try {
    new Intl.DateTimeFormat("en-CA", { timeZone: zone });
  } catch {
    zone = "UTC";
  }
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Whole years between a birth date (YYYY, YYYY-MM or YYYY-MM-DD) and asOf: the engine's own rule. */
export const ageAt = ageOn;

const text = (value: unknown): string => (typeof value === "string" ? value.trim() : "");

/** The patient's name to show; malformed names from the EHR (wrong JSON types) read as no name, never a throw. */
export function displayName(patient: Patient | null): string | null {
  const raw: unknown = patient?.name;
  const names = (Array.isArray(raw) ? raw : []).filter((n): n is Record<string, unknown> => typeof n === "object" && n !== null);
  const name = names.find((n) => n.use === "official") ?? names.find((n) => n.use === "usual") ?? names[0];
  if (!name) return null;
  if (text(name.text)) return text(name.text);
  const given = Array.isArray(name.given) ? name.given : [];
  const parts = [...given, name.family].map(text).filter(Boolean);
  return parts.length > 0 ? parts.join(" ") : null;
}

/** Whether granted scopes let the app create Observations (v2 `.c`/`.cruds`, v1 `.write`/`.*`). */
export function canWriteObservations(scope: string): boolean {
  return scope.split(/\s+/).some((s) => {
    const m = /^(patient|user)\/(Observation|\*)\.([a-z*]+)(\?.*)?$/.exec(s);
    if (!m) return false;
    const access = m[3]!;
    return access === "write" || access === "*" || (/^c?r?u?d?s?$/.test(access) && access.includes("c"));
  });
}

export async function buildPatientView(input: PatientViewInput): Promise<PatientViewResult> {
  if (!input.sessionPatientId || input.sessionPatientId !== input.requestedPatientId) {
    return { status: 403, body: { error: "patient-not-in-context", message: "This patient is not the one the EHR launched the app for." } };
  }
  const record = await fetchPatientRecord(input.serverUrl, input.accessToken, input.sessionPatientId, {
    ...input.fetchOptions,
    extraObservationCodes: [
      ...(input.fetchOptions?.extraObservationCodes ?? []),
      ...(input.codeMappings ?? []).filter((m) => m.concept.startsWith("measure:")).map((m) => `${m.system}|${m.code}`),
    ],
  });
  const fields = {
    requests: record.fetch.requests,
    bytes: record.fetch.bytes,
    ms: record.fetch.ms,
    resources: record.resources.length,
    failures: record.fetch.failures.length,
  };
  if (record.unauthorized) {
    input.log?.("patient-view-unauthorized", fields);
    return { status: 401, body: { error: "session-expired", message: "The EHR no longer accepts this session's token.", relaunch: "/relaunch?reason=session-expired" } };
  }
  if (record.resources.length === 0 && record.fetch.failures.length > 0) {
    input.log?.("patient-view-unavailable", fields);
    return { status: 502, body: { error: "fhir-unavailable", message: "The EHR's FHIR server did not answer any of the searches." } };
  }
  const started = performance.now();
  const evaluation = input.evaluate(record.resources, { asOf: input.asOf, ...(input.codeMappings ? { codeMappings: input.codeMappings } : {}) });
  const evaluateMs = Math.round(performance.now() - started);
  input.log?.("patient-view", { ...fields, evaluateMs });
  const patient: Patient | null = record.patient;
  const header: PatientHeader = {
    id: input.sessionPatientId,
    name: displayName(patient),
    birthDate: typeof patient?.birthDate === "string" ? patient.birthDate : null,
    age: ageAt(patient?.birthDate, input.asOf),
    sex: typeof patient?.gender === "string" ? patient.gender : null,
  };
  return {
    status: 200,
    body: {
      patient: header,
      asOf: input.asOf,
      rulesVersion: input.rulesVersion,
      evaluation,
      fetch: record.fetch,
      access: { scope: input.scope, canWriteObservations: canWriteObservations(input.scope), fhirServer: input.serverUrl },
    },
  };
}
