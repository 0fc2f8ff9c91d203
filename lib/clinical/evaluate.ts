/**
 * The engine's entry points: evaluateResources (any mix of resources and Bundles, grouped by patient)
 * and evaluatePatient. An evaluation is a pure function of (resources, asOf, rules, code mappings). Both run the
 * two stages of prepare.ts: the asOf-independent preparation and its evaluation at asOf.
 */
import { bucketResources, type InputItem } from "./buckets";
import { calendarDate } from "./dates";
import { evaluatePrepared, prepareBucket, preparePatient } from "./prepare";
import { DEFAULT_RULES, type RuleSet } from "./rules";
import type { CodeMapping, EngineOutput, IsoDate, PatientEvaluation } from "./types";

export type { InputItem } from "./buckets";

export interface EvaluateOptions {
  /** The evaluation date, YYYY-MM-DD: data dated after it is ignored. */
  asOf: IsoDate;
  rules?: RuleSet;
  codeMappings?: CodeMapping[];
  /** Include trends, therapy history and code matches (default true). The panel can skip them. */
  details?: boolean;
  /** Include `facts` (vaccinations and lab results read) for the quality reports (default false). */
  facts?: boolean;
}

export function evaluateResources(resources: Iterable<InputItem>, opts: EvaluateOptions): EngineOutput {
  const rules = opts.rules ?? DEFAULT_RULES;
  const asOf = calendarDate(opts.asOf);
  if (!asOf) throw new Error(`asOf must be a valid YYYY-MM-DD date, got "${String(opts.asOf)}"`);
  const grouped = bucketResources(resources, opts.codeMappings);
  const details = opts.details ?? true;
  const patients: PatientEvaluation[] = [];
  for (const bucket of grouped.buckets.values()) {
    patients.push(evaluatePrepared(prepareBucket(bucket, grouped, rules, details, asOf), { asOf, rules, details, facts: opts.facts ?? false }));
  }
  patients.sort((a, b) => (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0));
  const output: EngineOutput = { asOf, rulesVersion: rules.version, patients };
  if (grouped.globalNotes.length > 0) output.dataQuality = grouped.globalNotes;
  return output;
}

/**
 * Evaluates one patient's resources (optionally among others: `patientId` picks which): prepared for this asOf
 * alone, then evaluated (an undated preparation evaluates the same at every date: prepare.test.ts).
 */
export function evaluatePatient(resources: Iterable<InputItem>, opts: EvaluateOptions & { patientId?: string }): PatientEvaluation {
  const rules = opts.rules ?? DEFAULT_RULES;
  const details = opts.details ?? true;
  const prepareOptions = { rules, details, asOf: opts.asOf, ...(opts.patientId !== undefined ? { patientId: opts.patientId } : {}), ...(opts.codeMappings ? { codeMappings: opts.codeMappings } : {}) };
  return evaluatePrepared(preparePatient(resources, prepareOptions), { asOf: opts.asOf, rules, details, facts: opts.facts ?? false });
}
