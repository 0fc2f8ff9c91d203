/**
 * Response criteria per measure at a checkpoint (clinical-reference 5). A measure without baseline is
 * `no-baseline`, without value `no-value`, below the criterion's minimum baseline `not-applicable`:
 * none of these ever counts toward "not responded".
 */
import { roundTo } from "./round";
import type { CheckpointMeasure, Criterion, EasiBand, MeasureAtCheckpoint } from "./types";

const EPSILON = 1e-9;

export const CRITERION_MEASURE: Record<Criterion, CheckpointMeasure> = {
  "easi-50": "easi",
  "iga-success": "iga",
  "iga-improved": "iga",
  "itch-4": "itch",
  "pain-3": "pain",
};


export function easiBand(percentImprovement: number): EasiBand {
  if (percentImprovement >= 90 - EPSILON) return "EASI-90";
  if (percentImprovement >= 75 - EPSILON) return "EASI-75";
  if (percentImprovement >= 50 - EPSILON) return "EASI-50";
  return "below-EASI-50";
}

/** Assesses one criterion from a baseline and a value (either may be missing). */
export function assessCriterion(criterion: Criterion, baseline: number | null, value: number | null): MeasureAtCheckpoint {
  const improvement = baseline !== null && value !== null ? roundTo(baseline - value, 2) : null;
  const result: MeasureAtCheckpoint = { criterion, status: "no-value", baseline: baseline === null ? null : roundTo(baseline, 2), value: value === null ? null : roundTo(value, 2), improvement };
  if (criterion === "easi-50") {
    result.percentImprovement = null;
    result.band = null;
    if (baseline !== null && value !== null && baseline > 0) {
      const pct = ((baseline - value) / baseline) * 100;
      result.percentImprovement = roundTo(pct, 1);
      result.band = easiBand(pct);
    }
  }
  if (baseline === null) {
    result.status = "no-baseline";
    return result;
  }
  switch (criterion) {
    case "easi-50":
      if (baseline <= 0) result.status = "not-applicable";
      else if (value === null) result.status = "no-value";
      else result.status = (baseline - value) / baseline >= 0.5 - EPSILON ? "met" : "not-met";
      break;
    case "iga-success":
      if (value === null) result.status = "no-value";
      else result.status = value <= 1 + EPSILON && baseline - value >= 2 - EPSILON ? "met" : "not-met";
      break;
    case "iga-improved":
      if (value === null) result.status = "no-value";
      else result.status = baseline - value >= 1 - EPSILON ? "met" : "not-met";
      break;
    case "itch-4":
      if (baseline < 4 - EPSILON) result.status = "not-applicable";
      else if (value === null) result.status = "no-value";
      else result.status = baseline - value >= 4 - EPSILON ? "met" : "not-met";
      break;
    case "pain-3":
      if (baseline < 3 - EPSILON) result.status = "not-applicable";
      else if (value === null) result.status = "no-value";
      else result.status = baseline - value >= 3 - EPSILON ? "met" : "not-met";
      break;
  }
  return result;
}
