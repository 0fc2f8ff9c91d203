import { createReadStream, readdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { FhirRouter } from "@medplum/fhir-router";
import type { Bundle, Resource } from "@medplum/fhirtypes";
import { generateCohortResources } from "./cohort/index";
import type { SandboxRepository } from "./repository";

export interface GeneratedCohortOptions {
  patients: number;
  seed: number;
  asOf?: string;
}

/** Loads the seeded synthetic cohort (shared staff, patients, the jak-panel Group), streaming in batches. */
export async function seedGeneratedCohort(repo: SandboxRepository, options: GeneratedCohortOptions): Promise<number> {
  let count = 0;
  let batch: Resource[] = [];
  for (const resource of generateCohortResources(options)) {
    batch.push(resource);
    if (batch.length >= 10_000) {
      count += await repo.seed(batch);
      batch = [];
    }
  }
  count += await repo.seed(batch);
  return count;
}

/** Loads Bulk-style NDJSON files (one resource per line) from a folder; expected.ndjson is skipped. */
export async function seedNdjsonDirectory(repo: SandboxRepository, dir: string): Promise<number> {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".ndjson") && name !== "expected.ndjson")
    .sort();
  let count = 0;
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(join(dir, file), "utf8"), crlfDelay: Infinity });
    const batch: Resource[] = [];
    for await (const line of lines) {
      if (line.trim() === "") continue;
      batch.push(JSON.parse(line) as Resource);
      if (batch.length >= 1000) count += await repo.seed(batch.splice(0));
    }
    count += await repo.seed(batch);
  }
  return count;
}

/**
 * Processes a transaction or batch Bundle (urn:uuid references resolved, as a FHIR server does on POST [base]).
 * Returns the response Bundle; throws when the bundle as a whole fails.
 */
export async function loadTransactionBundle(repo: SandboxRepository, bundle: Bundle): Promise<Bundle> {
  const router = new FhirRouter();
  const [outcome, result] = await repo.withSeeding(() =>
    router.handleRequest({ method: "POST", url: "", pathname: "", body: bundle, params: {}, query: {} }, repo),
  );
  const failure = outcome.issue?.find((issue) => issue.severity === "error" || issue.severity === "fatal");
  if (failure || !result) throw new Error(`Bundle failed: ${failure?.diagnostics ?? failure?.details?.text ?? "no result"}`);
  return result as Bundle;
}
