/** Bench section: how fast the synthetic cohort generator streams NDJSON (no design target; informational). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeCohortNdjson } from "../sandbox/cohort/ndjson-writer";
import type { BenchRow } from "./types";

export async function benchCohort(patients = 10_000): Promise<BenchRow[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-cohort-"));
  try {
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const summary = await writeCohortNdjson({ patients, seed: 1 }, dir);
    const seconds = (performance.now() - started) / 1000;
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    const resources = Object.entries(summary.counts)
      .filter(([type]) => type !== "expected")
      .reduce((sum, [, n]) => sum + n, 0);
    return [
      {
        figure: `cohort: generate ${patients.toLocaleString("en-US")} patients to NDJSON`,
        value: `${seconds.toFixed(2)} s (${Math.round(resources / seconds).toLocaleString("en-US")} resources/s, ${resources.toLocaleString("en-US")} resources, ${(summary.counts.Observation ?? 0).toLocaleString("en-US")} observations)`,
        target: "-",
        ok: null,
        note: `heap growth ${heapGrowthMb.toFixed(0)} MB (streaming: flat in N)`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
