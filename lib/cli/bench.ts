// `npm run bench`: prints the figures the design sets targets for. Each area of lib/ contributes a section under
// lib/bench/; a section not built yet prints its rows with "-" so the table always shows what is still missing.
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runBenchCleanups } from "../bench/cleanup";
import type { BenchRow, BenchSection } from "../bench/types";

interface SectionSpec {
  file: string;
  exportName: string;
  /** Rows shown when the section does not exist yet, or fails. */
  placeholders: Omit<BenchRow, "value" | "ok">[];
}

const SECTIONS: SectionSpec[] = [
  {
    file: "patient-view.ts",
    exportName: "benchPatientView",
    placeholders: [{ figure: "patient view: launch to first content (3 years of data), median", target: "< 800 ms" }],
  },
  {
    file: "cds.ts",
    exportName: "benchCds",
    placeholders: [
      { figure: "CDS Hooks patient-view with full prefetch, p50 / p95", target: "p95 < 100 ms" },
      { figure: "CDS Hooks patient-view without prefetch (the service fetches from the sandbox), p50 / p95", target: "p95 < 800 ms" },
    ],
  },
  {
    file: "engine.ts",
    exportName: "benchEngine",
    placeholders: [{ figure: "engine: evaluate 10,000 patients (~1.2 M observations), one core", target: "< 3 s" }],
  },
  {
    file: "cohort.ts",
    exportName: "benchCohort",
    placeholders: [{ figure: "cohort generator: 10,000 patients to NDJSON", target: "(informational)" }],
  },
  {
    file: "ingest.ts",
    exportName: "benchIngest",
    placeholders: [
      { figure: "ingest: raw COPY of the same NDJSON into one jsonb column (baseline)", target: "-" },
      { figure: "ingest: first sync of the NDJSON into an empty source through ingestLines (COPY straight into fhir_resources)", target: ">= 0.7 of raw COPY" },
      { figure: "ingest: the same export synced again through ingestLines (staging + upsert, nothing changes)", target: ">= 0.7 of raw COPY" },
    ],
  },
  {
    file: "reevaluate.ts",
    exportName: "benchReevaluate",
    placeholders: [{ figure: "re-evaluation: every stored patient (evaluateAllPatients), 100,000 patients", target: "< 60 s" }],
  },
  {
    file: "panel.ts",
    exportName: "benchPanel",
    placeholders: [
      { figure: "panel API: summary with filters, 10,000 patients, p50 / p95", target: "p95 < 150 ms" },
      { figure: "panel API: worklist with filters, sorts and pages, 10,000 patients, p50 / p95", target: "p95 < 150 ms" },
      { figure: "panel API: summary with filters, 100,000 patients, p50 / p95", target: "p95 < 150 ms" },
      { figure: "panel API: worklist with filters, sorts and pages, 100,000 patients, p50 / p95", target: "p95 < 150 ms" },
      { figure: "panel API: memory serving the panel, 10,000 vs 100,000 patients", target: "flat" },
    ],
  },
  {
    file: "export.ts",
    exportName: "benchExport",
    placeholders: [
      { figure: "report API: report page load (summary + patient-list page), 100,000 patients, p50 / p95", target: "p95 < 200 ms" },
      { figure: "CSV export, 100,000-row patient list", target: "< 10 s, peak < 300 MB" },
    ],
  },
  {
    file: "load.ts",
    exportName: "benchLoad",
    placeholders: [
      { figure: "load: 50 concurrent clinic leads on the panel API (summary, worklist, charts) for 60 s", target: "p95 < 300 ms, 0 errors" },
      { figure: "load: 20 concurrent dermatologists on patient views for 60 s", target: "0 errors" },
      { figure: "load: memory of the server during the 60 s load", target: "steady: heap after GC x1.25 at most" },
      { figure: "load: CPU during the 60 s load (2 cores)", target: "(informational)" },
    ],
  },
];

async function runSection(spec: SectionSpec, only: string | undefined): Promise<BenchRow[]> {
  const file = path.join(import.meta.dirname, "..", "bench", spec.file);
  const placeholder = (note: string): BenchRow[] => spec.placeholders.map((p) => ({ ...p, value: "-", ok: null, note }));
  if (only && !spec.file.startsWith(only)) return [];
  if (!existsSync(file)) return placeholder("not built yet");
  try {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, BenchSection | undefined>;
    const section = mod[spec.exportName];
    if (!section) return placeholder(`${spec.file} has no ${spec.exportName}`);
    return await section();
  } catch (error) {
    return placeholder(`failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function printTable(rows: BenchRow[]): void {
  const header: [string, string, string, string] = ["figure", "value", "target", "met"];
  const cells = rows.map((r) => [r.figure, r.value, r.target, r.ok === null ? "-" : r.ok ? "yes" : "NO"] as const);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]?.length ?? 0)));
  const line = (c: readonly string[]): string => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const c of cells) console.log(line(c));
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    console.log("");
    for (const r of notes) console.log(`- ${r.figure}: ${r.note}`);
  }
}

// `npm run bench -- engine` runs one section.
const only = process.argv[2];
const rows: BenchRow[] = [];
try {
  for (const spec of SECTIONS) rows.push(...(await runSection(spec, only)));
} finally {
  // Sections share a throwaway PostgreSQL and generated files (lib/bench/pg-fixture.ts): stopped and removed here.
  await runBenchCleanups();
}
printTable(rows);
