/**
 * npm run evaluate -- --input <Bundle JSON | NDJSON file | folder of NDJSON> --as-of YYYY-MM-DD
 *                     [--format json|csv] [--mappings site-codes.json] [--details]
 *
 * Reads FHIR resources (a Bundle, a JSON array, one resource, NDJSON streamed line by line, or a folder
 * of .ndjson/.json files), evaluates them with the pure engine and prints clinical-reference section 7's
 * document `{ asOf, rulesVersion, patients }` (or CSV, see lib/clinical/csv.ts). Malformed input (invalid
 * JSON lines, resources without resourceType or subject, impossible dates) is reported per line on stderr
 * and in dataQuality; the rest is still evaluated. Exit code: 0 when anything was read, 1 when nothing
 * could be read, 2 for bad arguments.
 */
import { createReadStream, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { calendarDate } from "../clinical/dates";
import { evaluateResources } from "../clinical/evaluate";
import { toCsv } from "../clinical/csv";
import type { CodeMapping, DataQualityNote, EngineOutput } from "../clinical/types";

export interface CliArgs {
  input: string;
  asOf: string;
  format: "json" | "csv";
  mappings: string | null;
  details: boolean;
}

export function parseArgs(argv: readonly string[]): CliArgs | string {
  let input: string | null = null;
  let asOf: string | null = null;
  let format: "json" | "csv" = "json";
  let mappings: string | null = null;
  let details = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--input": input = value() ?? null; break;
      case "--as-of": asOf = value() ?? null; break;
      case "--format": {
        const f = value();
        if (f !== "json" && f !== "csv") return `--format must be json or csv, got ${f ?? "(nothing)"}`;
        format = f;
        break;
      }
      case "--mappings": mappings = value() ?? null; break;
      case "--details": details = true; break;
      case "--help": case "-h": return "usage";
      default: return `unknown argument ${a}`;
    }
  }
  if (!input) return "--input is required";
  if (!asOf || !calendarDate(asOf) || asOf.length !== 10) return "--as-of YYYY-MM-DD is required and must be a valid date";
  return { input, asOf, format, mappings, details };
}

const USAGE = "usage: npm run evaluate -- --input <Bundle JSON | NDJSON file | folder> --as-of YYYY-MM-DD [--format json|csv] [--mappings file.json] [--details]";

export interface ReadResult {
  resources: unknown[];
  notes: DataQualityNote[];
  /** Items that parsed as JSON objects with a resourceType. */
  readCount: number;
}

const SUBJECT_TYPES = new Set(["Observation", "MedicationStatement", "MedicationRequest", "MedicationDispense", "Procedure", "Condition"]);

/** Checks one parsed item and reports what the engine will have to skip, with its place in the input. */
function checkItem(item: unknown, where: string, result: ReadResult, warn: (line: string) => void): void {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    warn(`${where}: not a JSON object`);
    result.notes.push({ resource: where, issue: "not-a-resource", detail: "Line is not a JSON object." });
    return;
  }
  const r = item as Record<string, unknown>;
  if (typeof r.resourceType !== "string") {
    warn(`${where}: resource has no resourceType`);
    result.notes.push({ resource: where, issue: "no-resource-type", detail: "Resource has no resourceType." });
    return;
  }
  result.readCount++;
  result.resources.push(item);
  const type = r.resourceType;
  if (SUBJECT_TYPES.has(type) && r.subject === undefined && !(type === "Observation")) warn(`${where}: ${type}/${String(r.id ?? "?")} has no subject`);
  if (type === "Immunization" && r.patient === undefined) warn(`${where}: Immunization/${String(r.id ?? "?")} has no patient`);
  if (type === "Observation" && r.subject === undefined) warn(`${where}: Observation/${String(r.id ?? "?")} has no subject (kept only if a panel lists it)`);
  for (const field of ["effectiveDateTime", "authoredOn", "whenHandedOver", "occurrenceDateTime", "issued"]) {
    const v = r[field];
    if (typeof v === "string" && !calendarDate(v)) warn(`${where}: ${type}/${String(r.id ?? "?")} ${field} "${v.slice(0, 40)}" is not a valid date`);
  }
}

async function readNdjson(path: string, result: ReadResult, warn: (line: string) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === "") continue;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      warn(`${path}:${n}: invalid JSON (${message.slice(0, 120)})`);
      result.notes.push({ resource: `${path}:${n}`, issue: "invalid-json", detail: `Line ${n} is not valid JSON.` });
      continue;
    }
    checkItem(item, `${path}:${n}`, result, warn);
  }
}

async function readFile(path: string, result: ReadResult, warn: (line: string) => void): Promise<void> {
  if (path.endsWith(".ndjson") || path.endsWith(".jsonl")) return readNdjson(path, result, warn);
  const text = readFileSync(path, "utf8");
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed)) parsed.forEach((item, i) => checkItem(item, `${path}[${i}]`, result, warn));
    else if (parsed && typeof parsed === "object" && (parsed as { resourceType?: unknown }).resourceType === "Bundle") {
      const entries = (parsed as { entry?: unknown }).entry;
      // Check entries for the stderr report; the engine reads the Bundle itself (fullUrl references).
      const before = result.readCount;
      if (Array.isArray(entries)) entries.forEach((e, i) => {
        const resource = e && typeof e === "object" ? (e as { resource?: unknown }).resource : undefined;
        checkItem(resource, `${path} entry[${i}]`, result, warn);
      });
      result.resources.length -= result.readCount - before;
      result.resources.push(parsed);
    } else checkItem(parsed, path, result, warn);
  } catch {
    // Not one JSON document: try it as NDJSON.
    await readNdjson(path, result, warn);
  }
}

export async function readInput(input: string, warn: (line: string) => void): Promise<ReadResult> {
  const result: ReadResult = { resources: [], notes: [], readCount: 0 };
  const stat = statSync(input);
  if (stat.isDirectory()) {
    const files = readdirSync(input)
      .filter((f) => (f.endsWith(".ndjson") || f.endsWith(".jsonl") || f.endsWith(".json")) && f !== "expected.ndjson" && f !== "cohort.json")
      .sort();
    for (const f of files) await readFile(join(input, f), result, warn);
  } else await readFile(input, result, warn);
  return result;
}

export function loadMappings(path: string | null): CodeMapping[] {
  if (!path) return [];
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!Array.isArray(parsed)) throw new Error("--mappings must be a JSON array of { system, code, concept }");
  return parsed as CodeMapping[];
}

/** Writes the JSON document patient by patient so a large cohort never becomes one giant string. */
function writeJson(output: EngineOutput, write: (s: string) => void): void {
  write(`{"asOf":${JSON.stringify(output.asOf)},"rulesVersion":${JSON.stringify(output.rulesVersion)},"patients":[`);
  output.patients.forEach((p, i) => write(`${i === 0 ? "\n" : ",\n"}${JSON.stringify(p)}`));
  write(`\n]${output.dataQuality ? `,"dataQuality":${JSON.stringify(output.dataQuality)}` : ""}}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(args === "usage" ? `${USAGE}\n` : `error: ${args}\n${USAGE}\n`);
    return args === "usage" ? 0 : 2;
  }
  const warn = (line: string) => process.stderr.write(`${line}\n`);
  let read: ReadResult;
  try {
    read = await readInput(args.input, warn);
  } catch (error) {
    warn(`error: cannot read ${args.input}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (read.readCount === 0) {
    warn("error: no FHIR resource could be read from the input");
    return 1;
  }
  const output = evaluateResources(read.resources, { asOf: args.asOf, codeMappings: loadMappings(args.mappings), details: args.details });
  const notes = [...read.notes, ...(output.dataQuality ?? [])];
  if (notes.length > 0) output.dataQuality = notes;
  const dateNotes = output.patients.flatMap((p) => p.dataQuality.filter((n) => n.issue === "invalid-date"));
  for (const n of dateNotes) warn(`${n.resource}: ${n.detail}`);
  const chunks: string[] = [];
  const write = (s: string) => {
    chunks.push(s);
    if (chunks.length >= 256) process.stdout.write(chunks.splice(0).join(""));
  };
  if (args.format === "csv") write(toCsv(output));
  else writeJson(output, write);
  process.stdout.write(chunks.join(""));
  return 0;
}

const isEntryPoint = process.argv[1] !== undefined && /evaluate\.ts$/.test(process.argv[1]);
if (isEntryPoint) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
