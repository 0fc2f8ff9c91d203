/**
 * A stored prepared input is reused only while its PREPARED_VERSION matches (lib/sync/evaluate-patients.ts): a
 * change to what preparePatient or patientRowFacts produce must bump it, or the nightly run keeps evaluating
 * yesterday's form. This pins a digest of both over a generated cohort per version: when it fails, bump
 * PREPARED_VERSION (lib/clinical/prepare.ts) and record the new digest under the new version.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { preparePatient, PREPARED_VERSION } from "../clinical";
import { preparedJakResources } from "../clinical/prepare";
import { generateCohort } from "../sandbox/cohort/index";
import { findPatient, patientRowFacts } from "./evaluation-row";

const DIGESTS: Record<number, string> = {
  1: "f0a191e48556907a9287cb6136bd5ad7669eda0aa445cc9a1e5e2742aafb4d83",
};

describe("PREPARED_VERSION", () => {
  it("names the prepared form the engine and the row facts produce today", () => {
    const hash = createHash("sha256");
    for (const { patientId, resources } of generateCohort({ patients: 60, seed: 29, asOf: "2026-11-01" })) {
      const input = preparePatient(resources, { patientId, details: false });
      hash.update(JSON.stringify({ e: input, r: patientRowFacts(findPatient(resources, patientId), resources, preparedJakResources(input)) }));
      hash.update("\n");
    }
    expect(hash.digest("hex"), "the prepared form changed: bump PREPARED_VERSION and record its digest here").toBe(DIGESTS[PREPARED_VERSION]);
  });
});
