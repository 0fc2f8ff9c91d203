export { DEFAULT_RULES, RULES_VERSION } from "./defaults";
export type { CheckpointRule, CheckpointWindow, DrugRules, RuleDefinition, RuleSet } from "./types";
