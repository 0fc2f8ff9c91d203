/**
 * Eczema Area and Severity Index (Hanifin et al. 2001; HOME / DermNet scoring sheet). Per region: the sum of
 * four signs (erythema, oedema/papulation, excoriation, lichenification; each 0-3, half scores allowed) times
 * the area score (0 = none, 1 = 1-9 %, 2 = 10-29 %, 3 = 30-49 %, 4 = 50-69 %, 5 = 70-89 %, 6 = 90-100 %) times
 * the region's weight. Weights from 8 years: head/neck 0.1, upper limbs 0.2, trunk 0.3, lower limbs 0.4;
 * children 0-7 years: 0.2, 0.2, 0.3, 0.3. Total 0-72. Pure.
 */

export type EasiRegion = "headNeck" | "upperLimbs" | "trunk" | "lowerLimbs";
export type EasiSign = "erythema" | "oedemaPapulation" | "excoriation" | "lichenification";

export const EASI_REGIONS: readonly EasiRegion[] = ["headNeck", "upperLimbs", "trunk", "lowerLimbs"];
export const EASI_SIGNS: readonly EasiSign[] = ["erythema", "oedemaPapulation", "excoriation", "lichenification"];

export const EASI_REGION_LABELS: Record<EasiRegion, string> = {
  headNeck: "Head and neck",
  upperLimbs: "Upper limbs",
  trunk: "Trunk",
  lowerLimbs: "Lower limbs",
};
export const EASI_SIGN_LABELS: Record<EasiSign, string> = {
  erythema: "Erythema",
  oedemaPapulation: "Oedema / papulation",
  excoriation: "Excoriation",
  lichenification: "Lichenification",
};

/** Area score bands: index = score. */
export const EASI_AREA_BANDS: readonly string[] = ["0 %", "1-9 %", "10-29 %", "30-49 %", "50-69 %", "70-89 %", "90-100 %"];

export interface EasiRegionInput {
  erythema: number;
  oedemaPapulation: number;
  excoriation: number;
  lichenification: number;
  /** 0-6 */
  area: number;
}

export type EasiInput = Record<EasiRegion, EasiRegionInput>;

export interface EasiResult {
  /** 0-72, one decimal. */
  total: number;
  /** Each region's contribution (sign sum x area x weight), one decimal. */
  regions: Record<EasiRegion, number>;
  weights: Record<EasiRegion, number>;
  /** "adult" from 8 years (and when age is unknown), "child" for 0-7. */
  weighting: "adult" | "child";
}

export const EASI_WEIGHTS: Record<"adult" | "child", Record<EasiRegion, number>> = {
  adult: { headNeck: 0.1, upperLimbs: 0.2, trunk: 0.3, lowerLimbs: 0.4 },
  child: { headNeck: 0.2, upperLimbs: 0.2, trunk: 0.3, lowerLimbs: 0.3 },
};

/** Child weights for ages 0-7; adult weights from 8, and when the age is unknown (null). */
export function easiWeighting(ageYears: number | null | undefined): "adult" | "child" {
  return typeof ageYears === "number" && ageYears >= 0 && ageYears < 8 ? "child" : "adult";
}

export class EasiInputError extends Error {
  override readonly name = "EasiInputError";
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const isHalfStep = (n: number): boolean => Number.isFinite(n) && Number.isInteger(n * 2);

/** Sum of one region's four signs; throws EasiInputError on a sign outside 0-3 (half steps) or area outside 0-6 (integers). */
function regionSeverity(region: EasiRegion, input: EasiRegionInput): number {
  let sum = 0;
  for (const sign of EASI_SIGNS) {
    const value = input[sign];
    if (!isHalfStep(value) || value < 0 || value > 3) throw new EasiInputError(`${region}.${sign} must be 0-3 in steps of 0.5`);
    sum += value;
  }
  if (!Number.isInteger(input.area) || input.area < 0 || input.area > 6) throw new EasiInputError(`${region}.area must be an integer 0-6`);
  return sum;
}

export function easiScore(input: EasiInput, opts: { ageYears: number | null | undefined }): EasiResult {
  const weighting = easiWeighting(opts.ageYears);
  const weights = EASI_WEIGHTS[weighting];
  const regions = {} as Record<EasiRegion, number>;
  let total = 0;
  for (const region of EASI_REGIONS) {
    const raw = regionSeverity(region, input[region]) * input[region].area * weights[region];
    regions[region] = round1(raw);
    total += raw;
  }
  return { total: round1(total), regions, weights, weighting };
}

/** A region with every sign and the area at 0 (the calculator's starting state). */
export function emptyEasiInput(): EasiInput {
  const blank = (): EasiRegionInput => ({ erythema: 0, oedemaPapulation: 0, excoriation: 0, lichenification: 0, area: 0 });
  return { headNeck: blank(), upperLimbs: blank(), trunk: blank(), lowerLimbs: blank() };
}
