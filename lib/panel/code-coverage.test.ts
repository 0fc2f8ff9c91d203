import { describe, expect, it } from "vitest";
import type { CodeGroup } from "./code-classification";
import { mergeCodeGroups } from "./code-coverage";

const itch = { coding: [{ system: "urn:oid:1.2.3", code: "7702101" }] };
const group = (overrides: Partial<CodeGroup>): CodeGroup => ({
  part: "Observation",
  concept: itch,
  alternatives: null,
  hasComponents: false,
  hasMembers: false,
  skinContext: null,
  resources: 1,
  ...overrides,
});

describe("merging the sources' code groups into the all-sources view", () => {
  it("adds the counts of groups alike in everything, without changing the sources' own groups", () => {
    const clinicA = [group({ resources: 3 })];
    const clinicB = [group({ resources: 1 })];
    expect(mergeCodeGroups([clinicA, clinicB])).toEqual([group({ resources: 4 })]);
    expect(clinicA[0]!.resources).toBe(3);
  });

  it("keeps groups apart that differ in part, concept, ingredients, panel shape or skin context", () => {
    const variants = [
      group({}),
      group({ part: "Observation.component" }),
      group({ concept: { coding: [{ system: "urn:oid:1.2.3", code: "7702102" }] } }),
      group({ concept: null }),
      group({ alternatives: [itch] }),
      group({ hasComponents: true }),
      group({ hasMembers: true }),
      group({ skinContext: true }),
      group({ skinContext: false }),
    ];
    expect(mergeCodeGroups([variants, variants]).map((g) => g.resources)).toEqual(variants.map(() => 2));
  });
});
