import { describe, expect, it } from "vitest";
import type { Observation, Patient, Resource } from "@medplum/fhirtypes";
import { evaluatePatient, INSTRUMENT_SYSTEM } from "../clinical";
import { easiScore, emptyEasiInput } from "../clinical/easi";
import { FhirRequester } from "./requester";
import { buildScoreObservation, postScoreObservation, recordScoreSchema } from "./score-observation";

const patient: Patient = { resourceType: "Patient", id: "p1", birthDate: "1990-01-01", gender: "female" };

function withIds(observations: Observation[]): Resource[] {
  return [patient, ...observations.map((o, i) => ({ ...o, id: `obs-${i}` }))];
}

describe("buildScoreObservation", () => {
  it("builds a final survey Observation in the instrument CodeSystem with a {score} quantity", () => {
    const obs = buildScoreObservation({ patientId: "p1", measure: "itch-nrs", value: 7, effectiveDateTime: "2026-11-01", performer: "Practitioner/d1", issued: "2026-11-01T10:00:00Z" });
    expect(obs).toMatchObject({
      resourceType: "Observation",
      status: "final",
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "survey" }] }],
      code: { coding: [{ system: INSTRUMENT_SYSTEM, code: "itch-nrs" }] },
      subject: { reference: "Patient/p1" },
      effectiveDateTime: "2026-11-01",
      issued: "2026-11-01T10:00:00Z",
      performer: [{ reference: "Practitioner/d1" }],
      valueQuantity: { value: 7, system: "http://unitsofmeasure.org", code: "{score}" },
    });
    expect(obs.code?.text).toMatch(/itch/i);
    expect(obs.component).toBeUndefined();
  });

  it("drops a performer that is not a Practitioner reference", () => {
    const obs = buildScoreObservation({ patientId: "p1", measure: "skin-pain-nrs", value: 0, effectiveDateTime: "2026-11-01", performer: "https://evil.example/x" });
    expect(obs.performer).toBeUndefined();
  });

  it("adds EASI region components when given", () => {
    const input = { ...emptyEasiInput(), trunk: { erythema: 2, oedemaPapulation: 2, excoriation: 1, lichenification: 1, area: 4 } };
    const result = easiScore(input, { ageYears: 36 });
    const obs = buildScoreObservation({ patientId: "p1", measure: "easi", value: result.total, effectiveDateTime: "2026-11-01", components: result.regions });
    expect(obs.valueQuantity?.value).toBe(7.2);
    expect(obs.component).toHaveLength(4);
    expect(obs.component?.map((c) => c.valueQuantity?.value)).toEqual([0, 0, 7.2, 0]);
    expect(obs.component?.[2]?.code.text).toMatch(/trunk/);
  });

  it.each([
    [{ measure: "itch-nrs", value: 11, effectiveDateTime: "2026-11-01" }, "value"],
    [{ measure: "itch-nrs", value: -1, effectiveDateTime: "2026-11-01" }, "value"],
    [{ measure: "skin-pain-nrs", value: 4.5, effectiveDateTime: "2026-11-01" }, "value"],
    [{ measure: "easi", value: 72.1, effectiveDateTime: "2026-11-01" }, "value"],
    [{ measure: "easi", value: 10.25, effectiveDateTime: "2026-11-01" }, "value"],
    [{ measure: "easi", value: 10, effectiveDateTime: "2026-11-01", components: { headNeck: 1, upperLimbs: 1, trunk: 1, lowerLimbs: 1 } }, "components"],
    [{ measure: "itch-nrs", value: 3, effectiveDateTime: "2026-11-01", components: { trunk: 1 } }, "components"],
    [{ measure: "itch-nrs", value: 3, effectiveDateTime: "2026-02-30" }, "effectiveDateTime"],
    [{ measure: "itch-nrs", value: 3, effectiveDateTime: "2026-11-01T10:00:00" }, "effectiveDateTime"],
    [{ measure: "poem", value: 3, effectiveDateTime: "2026-11-01" }, "measure"],
  ])("rejects %j at %s", (input, path) => {
    const result = recordScoreSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toContain(path);
  });

  it("accepts the range ends and a zoned dateTime", () => {
    expect(recordScoreSchema.safeParse({ measure: "itch-nrs", value: 0, effectiveDateTime: "2026-11-01" }).success).toBe(true);
    expect(recordScoreSchema.safeParse({ measure: "skin-pain-nrs", value: 10, effectiveDateTime: "2026-11-01T09:30:00+01:00" }).success).toBe(true);
    expect(recordScoreSchema.safeParse({ measure: "easi", value: 72, effectiveDateTime: "2026-11-01" }).success).toBe(true);
  });
});

describe("the engine recognises recorded scores by system and code", () => {
  it("puts itch, skin pain and EASI (total, not regions) on their trends", () => {
    const easi = easiScore({ ...emptyEasiInput(), lowerLimbs: { erythema: 3, oedemaPapulation: 3, excoriation: 3, lichenification: 3, area: 6 } }, { ageYears: 36 });
    const observations = [
      buildScoreObservation({ patientId: "p1", measure: "itch-nrs", value: 8, effectiveDateTime: "2026-10-01" }),
      buildScoreObservation({ patientId: "p1", measure: "itch-nrs", value: 3, effectiveDateTime: "2026-11-01" }),
      buildScoreObservation({ patientId: "p1", measure: "skin-pain-nrs", value: 5, effectiveDateTime: "2026-11-01" }),
      buildScoreObservation({ patientId: "p1", measure: "easi", value: easi.total, effectiveDateTime: "2026-11-01", components: easi.regions }),
    ];
    const evaluation = evaluatePatient(withIds(observations), { asOf: "2026-11-23" });
    expect(evaluation.trends?.itch?.points.map((p) => [p.date, p.value])).toEqual([["2026-10-01", 8], ["2026-11-01", 3]]);
    expect(evaluation.trends?.pain?.points.map((p) => p.value)).toEqual([5]);
    expect(evaluation.trends?.easi?.points.map((p) => p.value)).toEqual([28.8]);
    expect(evaluation.trends?.easi?.points.every((p) => !p.excluded)).toBe(true);
    expect(evaluation.dataQuality.filter((n) => n.resource.startsWith("Observation/"))).toEqual([]);
    const match = evaluation.codeMatches?.find((m) => m.code === "itch-nrs");
    expect(match).toMatchObject({ system: INSTRUMENT_SYSTEM, concept: "measure:itch", how: "system-code" });
  });
});

describe("postScoreObservation", () => {
  it("POSTs application/fhir+json with the token and returns the created id", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetchStub: typeof fetch = async (url, init) => {
      calls.push({ url: String(url), init: init ?? {} });
      return new Response(JSON.stringify({ resourceType: "Observation", id: "new-1" }), { status: 201, headers: { location: "https://ehr.test/fhir/Observation/new-1/_history/1" } });
    };
    const requester = new FhirRequester({ baseUrl: "https://ehr.test/fhir", accessToken: "tok", fetch: fetchStub });
    const obs = buildScoreObservation({ patientId: "p1", measure: "itch-nrs", value: 4, effectiveDateTime: "2026-11-01" });
    const created = await postScoreObservation(requester, obs);
    expect(created.id).toBe("new-1");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe("https://ehr.test/fhir/Observation");
    expect(calls[0]?.init.method).toBe("POST");
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toBe("Bearer tok");
    expect(headers["content-type"]).toBe("application/fhir+json");
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual(obs);
  });

  it("takes the id from Location when the body is empty", async () => {
    const fetchStub: typeof fetch = async () => new Response("", { status: 201, headers: { location: "https://ehr.test/fhir/Observation/abc/_history/1" } });
    const requester = new FhirRequester({ baseUrl: "https://ehr.test/fhir", fetch: fetchStub });
    const created = await postScoreObservation(requester, buildScoreObservation({ patientId: "p1", measure: "itch-nrs", value: 4, effectiveDateTime: "2026-11-01" }));
    expect(created.id).toBe("abc");
  });
});
