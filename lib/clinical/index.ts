/** Public API of the clinical engine (pure: no IO, no clock, no framework). */
export { evaluatePatient, evaluateResources } from "./evaluate";
export type { EvaluateOptions, InputItem } from "./evaluate";
export { DEFAULT_RULES, RULES_VERSION } from "./rules";
export type { CheckpointRule, CheckpointWindow, DrugRules, RuleDefinition, RuleSet } from "./rules";
export { INSTRUMENT_SYSTEM, matchConcept, indexMappings, conceptId, parseConceptId } from "./codes";
export { convertLab, canonicalUnit } from "./units";
export { calendarDate, addDays, daysBetween } from "./dates";
export { assessCriterion, easiBand } from "./response";
export { toCsv, CSV_COLUMNS } from "./csv";
export type * from "./types";
export { preparePatient, evaluatePrepared, PREPARED_VERSION } from "./prepare";
export type { PreparedPatient, PrepareOptions, EvaluatePreparedOptions } from "./prepare";
