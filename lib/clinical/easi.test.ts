import { describe, expect, it } from "vitest";
import { easiScore, easiWeighting, emptyEasiInput, EasiInputError, type EasiInput, type EasiRegionInput } from "./easi";

const all = (sign: number, area: number): EasiRegionInput => ({ erythema: sign, oedemaPapulation: sign, excoriation: sign, lichenification: sign, area });

describe("easiScore", () => {
  it("scores a clear patient 0", () => {
    const result = easiScore(emptyEasiInput(), { ageYears: 30 });
    expect(result.total).toBe(0);
    expect(result.regions).toEqual({ headNeck: 0, upperLimbs: 0, trunk: 0, lowerLimbs: 0 });
  });

  it("scores every sign 3 and every area 6 as 72 for adults and children", () => {
    const max: EasiInput = { headNeck: all(3, 6), upperLimbs: all(3, 6), trunk: all(3, 6), lowerLimbs: all(3, 6) };
    const adult = easiScore(max, { ageYears: 40 });
    expect(adult.total).toBe(72);
    expect(adult.regions).toEqual({ headNeck: 7.2, upperLimbs: 14.4, trunk: 21.6, lowerLimbs: 28.8 });
    const child = easiScore(max, { ageYears: 5 });
    expect(child.total).toBe(72);
    expect(child.regions).toEqual({ headNeck: 14.4, upperLimbs: 14.4, trunk: 21.6, lowerLimbs: 21.6 });
  });

  it("weights head/neck and lower limbs by age: 0-7 years 0.2/0.3, from 8 years 0.1/0.4", () => {
    // Head/neck signs 2+2+1+1 = 6 at area 3 (30-49 %); lower limbs 1+1+1+0 = 3 at area 2 (10-29 %).
    const input: EasiInput = {
      ...emptyEasiInput(),
      headNeck: { erythema: 2, oedemaPapulation: 2, excoriation: 1, lichenification: 1, area: 3 },
      lowerLimbs: { erythema: 1, oedemaPapulation: 1, excoriation: 1, lichenification: 0, area: 2 },
    };
    const child = easiScore(input, { ageYears: 7 });
    expect(child.weighting).toBe("child");
    expect(child.regions.headNeck).toBe(3.6); // 6 x 3 x 0.2
    expect(child.regions.lowerLimbs).toBe(1.8); // 3 x 2 x 0.3
    expect(child.total).toBe(5.4);
    const adult = easiScore(input, { ageYears: 8 });
    expect(adult.weighting).toBe("adult");
    expect(adult.regions.headNeck).toBe(1.8); // 6 x 3 x 0.1
    expect(adult.regions.lowerLimbs).toBe(2.4); // 3 x 2 x 0.4
    expect(adult.total).toBe(4.2);
  });

  it("works a mixed adult example with half scores to one decimal", () => {
    // Trunk (2+2+1+1) x area 4 x 0.3 = 7.2; upper limbs (1.5+1+0.5+0) x area 2 x 0.2 = 1.2; total 8.4.
    const input: EasiInput = {
      ...emptyEasiInput(),
      trunk: { erythema: 2, oedemaPapulation: 2, excoriation: 1, lichenification: 1, area: 4 },
      upperLimbs: { erythema: 1.5, oedemaPapulation: 1, excoriation: 0.5, lichenification: 0, area: 2 },
    };
    const result = easiScore(input, { ageYears: 30 });
    expect(result.regions).toEqual({ headNeck: 0, upperLimbs: 1.2, trunk: 7.2, lowerLimbs: 0 });
    expect(result.total).toBe(8.4);
  });

  it("uses adult weights when the age is unknown", () => {
    expect(easiWeighting(null)).toBe("adult");
    expect(easiWeighting(undefined)).toBe("adult");
    expect(easiWeighting(0)).toBe("child");
  });

  it("rejects signs outside 0-3 and areas outside 0-6", () => {
    expect(() => easiScore({ ...emptyEasiInput(), trunk: all(4, 1) }, { ageYears: 30 })).toThrow(EasiInputError);
    expect(() => easiScore({ ...emptyEasiInput(), trunk: all(1, 7) }, { ageYears: 30 })).toThrow(EasiInputError);
    expect(() => easiScore({ ...emptyEasiInput(), trunk: all(1.2, 1) }, { ageYears: 30 })).toThrow(EasiInputError);
    expect(() => easiScore({ ...emptyEasiInput(), trunk: all(1, 2.5) }, { ageYears: 30 })).toThrow(EasiInputError);
  });
});
