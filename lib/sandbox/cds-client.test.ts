import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { orderSignCards } from "../cds/order-sign";
import {
  buildDraftMedicationRequest,
  CDS_JWT_ALG,
  createCdsSigningKey,
  draftOrdersBundle,
  fillPrefetchTemplate,
  ORDERABLE_JAK_DRUGS,
  signCdsJwt,
} from "./cds-client";

const ISSUER = "http://127.0.0.1:4100";
const SERVICE_URL = "http://127.0.0.1:3000/cds-services/jak-monitor-patient-view";

describe("the sandbox's CDS client JWT", () => {
  it("verifies against the client's JWKS with iss = the sandbox origin, aud = the service URL, a kid and ES384", async () => {
    const key = await createCdsSigningKey();
    const jwt = await signCdsJwt(key, { issuer: ISSUER, audience: SERVICE_URL });
    const header = decodeProtectedHeader(jwt);
    expect(header).toMatchObject({ alg: CDS_JWT_ALG, kid: key.kid, typ: "JWT" });
    const { payload } = await jwtVerify(jwt, createLocalJWKSet({ keys: [key.publicJwk] }), {
      issuer: ISSUER,
      audience: SERVICE_URL,
      algorithms: ["ES384"],
      requiredClaims: ["exp", "iat", "jti"],
    });
    expect(payload.sub).toBe(ISSUER);
    expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("expires five minutes after it is issued", async () => {
    const key = await createCdsSigningKey();
    const now = new Date("2026-11-01T10:00:00Z");
    const jwt = await signCdsJwt(key, { issuer: ISSUER, audience: SERVICE_URL, now });
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { iat: number; exp: number };
    expect(payload.iat).toBe(now.getTime() / 1000);
    expect(payload.exp - payload.iat).toBe(300);
  });

  it("gives every token its own jti", async () => {
    const key = await createCdsSigningKey();
    const jtis = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      const jwt = await signCdsJwt(key, { issuer: ISSUER, audience: SERVICE_URL });
      jtis.add(JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")).jti);
    }
    expect(jtis.size).toBe(5);
  });

  it("does not verify against another sandbox's keys", async () => {
    const key = await createCdsSigningKey();
    const other = await createCdsSigningKey();
    const jwt = await signCdsJwt(key, { issuer: ISSUER, audience: SERVICE_URL });
    await expect(jwtVerify(jwt, createLocalJWKSet({ keys: [{ ...other.publicJwk, kid: key.kid }] }))).rejects.toThrow();
  });

  it("publishes only the public half of its key", async () => {
    const key = await createCdsSigningKey();
    expect(key.publicJwk).not.toHaveProperty("d");
    expect(key.publicJwk).toMatchObject({ kty: "EC", crv: "P-384", alg: "ES384", use: "sig", kid: key.kid });
  });
});

describe("the draft JAK order", () => {
  const draftFor = (drug: (typeof ORDERABLE_JAK_DRUGS)[number]["id"]) =>
    buildDraftMedicationRequest({ drug, patientId: "pt-1", practitionerId: "pr-1", authoredOn: "2026-11-01", id: `draft-${drug}` });

  it("is a draft order for the patient by the practitioner, authored on the given day", () => {
    const draft = draftFor("upadacitinib-15");
    expect(draft).toMatchObject({
      resourceType: "MedicationRequest",
      id: "draft-upadacitinib-15",
      status: "draft",
      intent: "order",
      subject: { reference: "Patient/pt-1" },
      requester: { reference: "Practitioner/pr-1" },
      authoredOn: "2026-11-01",
    });
  });

  it("codes upadacitinib with its ATC and NDC codes and the oral route", () => {
    const draft = draftFor("upadacitinib-15");
    expect(draft.medicationCodeableConcept?.coding).toEqual([
      { system: "http://www.whocc.no/atc", code: "L04AF03", display: "upadacitinib" },
      expect.objectContaining({ system: "http://hl7.org/fhir/sid/ndc", code: "0074-2310-30" }),
    ]);
    expect(draft.medicationCodeableConcept?.text).toBe("Rinvoq (upadacitinib) 15 mg extended-release tablet");
    expect(draft.dosageInstruction?.[0]?.route?.coding?.[0]).toMatchObject({ system: "http://snomed.info/sct", code: "26643006" });
    expect(draft.dosageInstruction?.[0]?.doseAndRate?.[0]?.doseQuantity).toMatchObject({ value: 15, code: "mg" });
  });

  it("codes ruxolitinib cream by NDC with the topical route and a twice-daily timing", () => {
    const draft = draftFor("ruxolitinib-cream-1.5");
    expect(draft.medicationCodeableConcept?.coding).toEqual([expect.objectContaining({ system: "http://hl7.org/fhir/sid/ndc", code: "50881-007-01" })]);
    expect(draft.dosageInstruction?.[0]?.route?.coding?.[0]).toMatchObject({ code: "6064005" });
    expect(draft.dosageInstruction?.[0]?.timing?.repeat).toMatchObject({ frequency: 2, period: 1, periodUnit: "d" });
  });

  it("refuses a drug the form does not offer", () => {
    expect(() => buildDraftMedicationRequest({ drug: "tofacitinib-5" as never, patientId: "pt-1", practitionerId: "pr-1", authoredOn: "2026-11-01" })).toThrow(
      /Unknown orderable/,
    );
  });

  it("is recognised by the CDS service's order-sign as the drug and route the form named", () => {
    const expected = { "upadacitinib-15": ["upadacitinib", "oral"], "abrocitinib-100": ["abrocitinib", "oral"], "baricitinib-2": ["baricitinib", "oral"], "ruxolitinib-cream-1.5": ["ruxolitinib-cream", "topical"] };
    for (const orderable of ORDERABLE_JAK_DRUGS) {
      const draft = draftFor(orderable.id);
      const { drafts } = orderSignCards(
        { resources: [{ resourceType: "Patient", id: "pt-1", birthDate: "1980-01-01", gender: "male" }], draftOrders: [draftOrdersBundle([draft])] },
        { asOf: "2026-11-01", patientId: "pt-1", appLaunchUrl: "http://127.0.0.1:3000/launch", uuid: () => "u" },
      );
      const [drug, route] = expected[orderable.id];
      expect(drafts.recognised, orderable.id).toEqual([expect.objectContaining({ drug, route })]);
    }
  });

  it("travels in context.draftOrders as a Bundle of the drafts", () => {
    const draft = draftFor("abrocitinib-100");
    expect(draftOrdersBundle([draft])).toEqual({ resourceType: "Bundle", type: "collection", entry: [{ resource: draft }] });
  });
});

describe("prefetch templates", () => {
  const context = { userId: "Practitioner/pr-1", patientId: "pt-000026" };

  it("fills the context tokens", () => {
    expect(fillPrefetchTemplate("Patient/{{context.patientId}}", context)).toBe("Patient/pt-000026");
    expect(fillPrefetchTemplate("Observation?patient={{context.patientId}}&performer={{userPractitionerId}}", context)).toBe(
      "Observation?patient=pt-000026&performer=pr-1",
    );
    expect(fillPrefetchTemplate("{{context.userId}}", context)).toBe("Practitioner/pr-1");
  });

  it("leaves out a template with a token the client cannot fill", () => {
    expect(fillPrefetchTemplate("Encounter/{{context.encounterId}}", context)).toBeUndefined();
    expect(fillPrefetchTemplate("RelatedPerson/{{userRelatedPersonId}}", context)).toBeUndefined();
  });

  it("percent-encodes values so a context value cannot add query parameters", () => {
    expect(fillPrefetchTemplate("Observation?patient={{context.patientId}}", { ...context, patientId: "a&b=c" })).toBe("Observation?patient=a%26b%3Dc");
  });
});
