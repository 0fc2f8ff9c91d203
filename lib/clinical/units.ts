/**
 * UCUM unit conversion for the safety labs (clinical-reference 2): every numeric lab is brought to one
 * canonical unit before a threshold is applied. A unit that cannot be converted returns null (the caller
 * records a data-quality note; never a silent guess).
 */
import type { LabKey } from "./types";

export type CanonicalUnit = "10*3/uL" | "g/dL" | "U/L" | "mg/dL" | "mL/min/1.73m2" | "%" | "{score}";

type UnitFamily = "cells" | "hemoglobin" | "enzyme" | "cholesterol" | "triglycerides" | "creatinine" | "egfr";

/** Conversion factors to the family's canonical unit, keyed by a normalised unit string. */
const FACTORS: Record<UnitFamily, ReadonlyMap<string, number>> = {
  // 1000 cells/mm3 = 1.0 x10*3/uL = 1.0 x10*9/L
  cells: new Map([
    ["10*3/ul", 1], ["10^3/ul", 1], ["x10*3/ul", 1], ["x10^3/ul", 1], ["x10e3/ul", 1], ["10e3/ul", 1], ["k/ul", 1], ["thou/ul", 1],
    ["10*3/mm3", 1], ["10^3/mm3", 1], ["/nl", 1], ["10*9/l", 1], ["10^9/l", 1], ["x10*9/l", 1], ["x10^9/l", 1], ["x10e9/l", 1], ["g/l#cells", 1],
    ["/ul", 0.001], ["cells/ul", 0.001], ["{cells}/ul", 0.001], ["/mm3", 0.001], ["cells/mm3", 0.001], ["{cells}/mm3", 0.001],
    ["10*6/l", 0.001], ["10^6/l", 0.001],
  ]),
  // hemoglobin g/L / 10 = g/dL
  hemoglobin: new Map([["g/dl", 1], ["g/l", 0.1], ["mg/dl", 0.001]]),
  enzyme: new Map([["u/l", 1], ["iu/l", 1], ["[iu]/l", 1], ["u/l{37c}", 1], ["ukat/l", 60], ["µkat/l", 60]]),
  // cholesterol mmol/L x 38.67 = mg/dL
  cholesterol: new Map([["mg/dl", 1], ["mmol/l", 38.67]]),
  // triglycerides mmol/L x 88.57 = mg/dL
  triglycerides: new Map([["mg/dl", 1], ["mmol/l", 88.57]]),
  // creatinine umol/L / 88.4 = mg/dL
  creatinine: new Map([["mg/dl", 1], ["umol/l", 1 / 88.4], ["µmol/l", 1 / 88.4]]),
  egfr: new Map([["ml/min/{1.73_m2}", 1], ["ml/min/1.73m2", 1], ["ml/min/1.73 m2", 1], ["ml/min", 1]]),
};

const CANONICAL: Record<UnitFamily, CanonicalUnit> = {
  cells: "10*3/uL",
  hemoglobin: "g/dL",
  enzyme: "U/L",
  cholesterol: "mg/dL",
  triglycerides: "mg/dL",
  creatinine: "mg/dL",
  egfr: "mL/min/1.73m2",
};

const LAB_FAMILY: Partial<Record<LabKey, UnitFamily>> = {
  wbc: "cells",
  anc: "cells",
  alc: "cells",
  platelets: "cells",
  hemoglobin: "hemoglobin",
  alt: "enzyme",
  ast: "enzyme",
  ck: "enzyme",
  cholesterol: "cholesterol",
  ldl: "cholesterol",
  hdl: "cholesterol",
  triglycerides: "triglycerides",
  creatinine: "creatinine",
  egfr: "egfr",
};

/** Whether a lab carries a numeric value with a unit to convert (others are qualitative or unit-free). */
export function isQuantitativeLab(lab: LabKey): boolean {
  return LAB_FAMILY[lab] !== undefined;
}

const normalizedUnits = new Map<string, string>();
function normalizeUnit(unit: string): string {
  let key = normalizedUnits.get(unit);
  if (key === undefined) {
    key = unit.trim().toLowerCase().replace(/\s+/g, "").replace("\u03bc", "\u00b5");
    if (normalizedUnits.size < 10_000) normalizedUnits.set(unit, key);
  }
  return key;
}

export interface Converted {
  value: number;
  unit: CanonicalUnit;
}

/**
 * Converts a lab value to its canonical unit. Returns null when the unit is unknown for that lab.
 * A missing unit is accepted only as the canonical unit when `assumeCanonicalWhenMissing` is set.
 */
export function convertLab(lab: LabKey, value: number, unit: string | null | undefined): Converted | null {
  const family = LAB_FAMILY[lab];
  if (!family) return { value, unit: "{score}" };
  if (unit === null || unit === undefined || unit.trim() === "") return null;
  const key = normalizeUnit(unit);
  const factor = FACTORS[family].get(key);
  if (factor === undefined) return null;
  return { value: value * factor, unit: CANONICAL[family] };
}

/** The canonical unit of a lab, if it is quantitative. */
export function canonicalUnit(lab: LabKey): CanonicalUnit | null {
  const family = LAB_FAMILY[lab];
  return family ? CANONICAL[family] : null;
}
