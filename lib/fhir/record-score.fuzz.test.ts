/**
 * Fuzz tests of score capture's input: POST /api/patients/{id}/observations (handleRecordScoreRequest, after a valid
 * session with the write scope) with any body, content type and patient id answers 201, or a 4xx with a reason; it
 * writes only for the launch patient, only the value sent, never dated after today; and whatever the schema accepts
 * builds an Observation without throwing. Seeded (lib/testing/arbitraries.ts).
 */
import type { Observation } from "@medplum/fhirtypes";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { smartConfig } from "../smart/config";
import type { LoadedSession, SessionStore, SmartStorageData } from "../smart/session-store";
import { anyFieldValue, anyJson, fuzzParameters, hostileString } from "../testing/arbitraries";
import { handleRecordScoreRequest, type RecordScoreDeps } from "./record-score";
import { buildScoreObservation, recordScoreSchema } from "./score-observation";

const NOW = 1_800_000_000;
const TODAY = "2026-11-01";
const SESSION_ID = "s".repeat(43);
const PATIENT = "p1";

/** A session with the launch patient p1 and Observation create granted (what record-score.test.ts uses). */
function sessionStore(): SessionStore {
  const data: SmartStorageData = {
    SMART_KEY: "k1",
    k1: { serverUrl: "http://ehr.test/fhir", tokenUri: "http://ehr.test/auth/token", expiresAt: NOW + 600, tokenResponse: { access_token: "tok", scope: "launch patient/*.rs patient/Observation.c" } },
  };
  const session: LoadedSession = { id: SESSION_ID, data, expiresAt: new Date(), expired: false, patientId: PATIENT, practitionerId: "Practitioner/d1", role: "dermatologist", issuer: "http://ehr.test/fhir" };
  const withRefreshLock = async <T>(_id: string, work: (current: LoadedSession | null) => Promise<{ result: T }>): Promise<T> => (await work(structuredClone(session))).result;
  return { load: async () => session, saveData: async () => undefined, withRefreshLock, delete: async () => undefined } as unknown as SessionStore;
}

function deps(posted: Observation[]): RecordScoreDeps {
  return {
    store: sessionStore(),
    config: smartConfig({}),
    nowSeconds: () => NOW,
    fetch: async () => new Response("{}", { status: 400 }),
    today: () => TODAY,
    now: () => new Date(`${TODAY}T09:00:00Z`),
    requesterOptions: {
      fetch: async (_url, init) => {
        posted.push(JSON.parse(String(init?.body)) as Observation);
        return new Response(JSON.stringify({ resourceType: "Observation", id: "new-1" }), { status: 201 });
      },
      sleep: async () => undefined,
    },
  };
}

/** The id as a URL path segment (a lone surrogate cannot be percent-encoded: the route would see U+FFFD). */
function pathSegment(id: string): string {
  try {
    return encodeURIComponent(id) || "x";
  } catch {
    return "%EF%BF%BD";
  }
}

const day = fc.integer({ min: -60_000, max: 400 }).map((d) => new Date(Date.UTC(2026, 10, 1) + d * 86_400_000).toISOString().slice(0, 10));
const region = fc.oneof(fc.integer({ min: 0, max: 28 }), fc.double({ min: -1, max: 30, noNaN: true }), anyFieldValue);
const scoreBody = fc
  .tuple(
    fc.record({
      measure: fc.oneof({ weight: 5, arbitrary: fc.constantFrom("itch-nrs", "skin-pain-nrs", "easi") }, { weight: 1, arbitrary: hostileString }),
      value: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -2, max: 80 }) }, { weight: 2, arbitrary: fc.double({ min: -5, max: 80, noNaN: true }) }, { weight: 1, arbitrary: anyFieldValue }),
      effectiveDateTime: fc.oneof(
        { weight: 4, arbitrary: day },
        { weight: 2, arbitrary: fc.tuple(day, fc.constantFrom("T10:00:00Z", "T23:59:59+14:00", "T00:00:00-12:00", "T10:00Z", "T25:00:00Z", "")).map(([d, t]) => `${d}${t}`) },
        { weight: 1, arbitrary: fc.constantFrom("2026-02-30", "1899-12-31", "+020000-01-01", "2026-11-02") },
        { weight: 1, arbitrary: hostileString },
      ),
    }),
    // EASI region scores (valid only with easi and adding up), and a patient id the body must not be able to choose.
    fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.oneof(fc.record({ headNeck: region, upperLimbs: region, trunk: region, lowerLimbs: region }, { requiredKeys: [] }), anyFieldValue) }),
    fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom("p2", "Patient/p2") }),
  )
  .map(([core, components, patientId]) => ({ ...core, ...(components !== undefined ? { components } : {}), ...(patientId !== undefined ? { patientId } : {}) }));

describe("score capture under fuzzed input", () => {
  it("answers 201 or a 4xx with a reason, writes only the launch patient's score as sent, never dated after today", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 6, arbitrary: scoreBody }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: hostileString }),
        fc.oneof({ weight: 6, arbitrary: fc.constant(PATIENT) }, { weight: 1, arbitrary: fc.constantFrom("p2", "P1", "p1 ", "..", "") }, { weight: 1, arbitrary: hostileString }),
        fc.oneof({ weight: 6, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/json; charset=utf-8", "") }),
        async (value, rawId, contentType) => {
          const posted: Observation[] = [];
          const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "null");
          const headers: Record<string, string> = { origin: "http://app.test", cookie: `ejm_session=${SESSION_ID}` };
          if (contentType) headers["content-type"] = contentType;
          const request = new Request(`http://app.test/api/patients/${pathSegment(rawId)}/observations`, { method: "POST", headers, body: text });
          const response = await handleRecordScoreRequest(request, rawId, deps(posted));
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const json = (await response.json()) as { error?: string; message?: string; value?: unknown };
          expect([201, 400, 401, 403, 415], `status ${response.status}: ${JSON.stringify(json).slice(0, 200)}`).toContain(response.status);
          if (response.status !== 201) {
            expect(posted).toEqual([]);
            expect(json.message?.length).toBeGreaterThan(5);
            return;
          }
          expect(rawId).toBe(PATIENT);
          expect(posted).toHaveLength(1);
          const sent = JSON.parse(text) as { measure: string; value: number; effectiveDateTime: string }; // as it went over the wire
          expect(posted[0]!.subject).toEqual({ reference: `Patient/${PATIENT}` });
          expect(posted[0]!.valueQuantity?.value).toBe(sent.value);
          expect(posted[0]!.code?.coding?.[0]?.code).toBe(sent.measure);
          expect(posted[0]!.effectiveDateTime!.slice(0, 10) <= TODAY).toBe(true);
        },
      ),
      fuzzParameters(300, { caseTimeoutMs: 5_000 }),
    );
    // Both outcomes were reached: the bodies are neither all refused nor all accepted.
    expect(Math.min(statuses.get(201) ?? 0, statuses.get(400) ?? 0)).toBeGreaterThan(10);
  });

  it("builds an Observation, without throwing, from whatever the schema accepts", () => {
    fc.assert(
      fc.property(scoreBody, (raw) => {
        const parsed = recordScoreSchema.safeParse(raw);
        if (!parsed.success) return;
        const observation = buildScoreObservation({ ...parsed.data, patientId: PATIENT, performer: "Practitioner/d1", issued: `${TODAY}T09:00:00Z` });
        expect(observation.valueQuantity?.value).toBe(parsed.data.value);
        expect(Number.isFinite(observation.valueQuantity?.value)).toBe(true);
      }),
      fuzzParameters(400),
    );
  });
});
