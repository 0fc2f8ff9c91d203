/**
 * npm run cohort -- --patients N --seed S --out DIR [--as-of YYYY-MM-DD]
 * Writes a synthetic cohort as Bulk-Data-style NDJSON plus expected.ndjson and cohort.json.
 */
import { parseArgs } from "node:util";
import { DEFAULT_AS_OF } from "../sandbox/cohort/index";
import { writeCohortNdjson } from "../sandbox/cohort/ndjson-writer";

const USAGE = "usage: npm run cohort -- --patients N --seed S --out DIR [--as-of YYYY-MM-DD]";

function integerArg(name: string, raw: string | undefined): number {
  if (raw === undefined || !/^-?\d+$/.test(raw)) throw new Error(`--${name} must be an integer\n${USAGE}`);
  return Number(raw);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      patients: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      "as-of": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const patients = integerArg("patients", values.patients);
  const seed = integerArg("seed", values.seed ?? "1");
  const asOf = values["as-of"] ?? DEFAULT_AS_OF;
  if (!values.out) throw new Error(`--out is required\n${USAGE}`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw new Error(`--as-of must be YYYY-MM-DD\n${USAGE}`);
  const started = performance.now();
  const summary = await writeCohortNdjson({ patients, seed, asOf }, values.out, (n) => {
    const rssMb = process.memoryUsage().rss / 1024 / 1024;
    process.stderr.write(`  ${n.toLocaleString("en-US")} patients (RSS ${rssMb.toFixed(0)} MB)\n`);
  });
  const seconds = (performance.now() - started) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const total = Object.entries(summary.counts)
    .filter(([type]) => type !== "expected")
    .reduce((sum, [, n]) => sum + n, 0);
  console.log(`cohort: ${patients} patients, seed ${seed}, as of ${asOf} -> ${values.out}`);
  for (const [type, count] of Object.entries(summary.counts).sort()) console.log(`  ${type.padEnd(22)} ${count}`);
  console.log(`  ${total} resources in ${seconds.toFixed(1)} s, peak RSS ${peakRssMb.toFixed(0)} MB`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
