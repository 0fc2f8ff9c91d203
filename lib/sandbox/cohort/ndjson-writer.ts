/** Streams a cohort to Bulk-Data-style NDJSON files (one per resource type), honouring backpressure. */
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Resource } from "@medplum/fhirtypes";
import { DEFAULT_AS_OF, GENERATOR_VERSION, generateCohort, type CohortOptions } from "./index";
import { buildJakPanelGroup, generateSharedResources } from "./shared";

export interface CohortWriteSummary {
  patients: number;
  asOf: string;
  seed: number;
  /** Resource count per type, plus "expected" lines. */
  counts: Record<string, number>;
  files: string[];
}

class NdjsonFiles {
  private readonly streams = new Map<string, WriteStream>();
  readonly counts: Record<string, number> = {};
  constructor(private readonly dir: string) {}

  private stream(name: string): WriteStream {
    let stream = this.streams.get(name);
    if (!stream) {
      stream = createWriteStream(path.join(this.dir, `${name}.ndjson`), { encoding: "utf8" });
      this.streams.set(name, stream);
    }
    return stream;
  }

  /** Writes lines to one file; waits for "drain" when the stream's buffer is full. */
  async write(name: string, lines: string): Promise<void> {
    const stream = this.stream(name);
    if (!stream.write(lines)) await once(stream, "drain");
  }

  async writeResources(resources: readonly Resource[]): Promise<void> {
    const byType = new Map<string, string[]>();
    for (const resource of resources) {
      const lines = byType.get(resource.resourceType) ?? [];
      lines.push(JSON.stringify(resource));
      byType.set(resource.resourceType, lines);
      this.counts[resource.resourceType] = (this.counts[resource.resourceType] ?? 0) + 1;
    }
    for (const [type, lines] of byType) await this.write(type, `${lines.join("\n")}\n`);
  }

  names(): string[] {
    return [...this.streams.keys()].map((name) => `${name}.ndjson`).sort();
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.streams.values()].map(
        (stream) =>
          new Promise<void>((resolve, reject) => {
            stream.once("error", reject);
            stream.end(() => resolve());
          }),
      ),
    );
  }
}

/**
 * Writes DIR/<ResourceType>.ndjson, DIR/expected.ndjson and DIR/cohort.json. Existing .ndjson files and
 * cohort.json in DIR are removed first so a smaller cohort leaves no stale types behind.
 */
export async function writeCohortNdjson(
  options: CohortOptions,
  outDir: string,
  onProgress?: (patientsWritten: number) => void,
): Promise<CohortWriteSummary> {
  const asOf = options.asOf ?? DEFAULT_AS_OF;
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(outDir)) {
    if (name.endsWith(".ndjson") || name === "cohort.json") await rm(path.join(outDir, name));
  }
  const files = new NdjsonFiles(outDir);
  try {
    await files.writeResources(generateSharedResources());
    const jakPatientIds: string[] = [];
    let written = 0;
    for (const patient of generateCohort({ ...options, asOf })) {
      await files.writeResources(patient.resources);
      await files.write("expected", `${JSON.stringify(patient.expected)}\n`);
      files.counts.expected = (files.counts.expected ?? 0) + 1;
      if (patient.expected.courses.length > 0) jakPatientIds.push(patient.patientId);
      written++;
      if (onProgress && written % 10_000 === 0) onProgress(written);
    }
    await files.writeResources([buildJakPanelGroup(jakPatientIds)]);
  } finally {
    await files.close();
  }
  const manifest = { seed: options.seed, patients: options.patients, asOf, generatorVersion: GENERATOR_VERSION };
  await writeFile(path.join(outDir, "cohort.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return { patients: options.patients, asOf, seed: options.seed, counts: files.counts, files: [...files.names(), "cohort.json"] };
}
