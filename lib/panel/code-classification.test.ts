import { describe, expect, it } from "vitest";
import { INSTRUMENT_SYSTEM, LOINC, parseConceptId } from "../clinical/codes";
import { builtInConceptFor, classifyCodeGroups, mappingCoverage, mappingIndexOf, MAPPABLE_CONCEPTS, type CodeGroup, type CodeMappingView } from "./code-classification";

const LOCAL = "urn:oid:1.2.840.114350.1.13.0.1.7.2.768282";
const LOCAL_MED = "urn:oid:1.2.840.114350.1.13.0.1.7.2.698288";
const NONE = mappingIndexOf([]);

function mapping(system: string, code: string, concept: string, id = "1"): CodeMappingView {
  return { id, system, code, concept, display: null, createdBy: "Practitioner/lead", createdAt: "2026-11-01T00:00:00.000Z" };
}
const coded = (system: string, code: string, display?: string, text?: string) => ({ coding: [{ system, code, ...(display ? { display } : {}) }], ...(text ? { text } : {}) });

describe("classifying coded concepts with the engine's matcher", () => {
  it("matches a LOINC lab by system and code and counts its resources", () => {
    const { matched, ignored } = classifyCodeGroups([{ part: "Observation", concept: coded(LOINC, "751-8", "Neutrophils"), resources: 12 }], NONE);
    expect(ignored).toEqual([]);
    expect(matched).toMatchObject([{ part: "Observation", system: LOINC, code: "751-8", concept: "lab:anc", how: "system-code", resources: 12, reason: null }]);
  });

  it("ignores a local itch code without keyword text, then matches it through a site mapping", () => {
    const group: CodeGroup = { part: "Observation", concept: coded(LOCAL, "7702101", "Flowsheet row 7702101"), resources: 5 };
    const before = classifyCodeGroups([group], NONE);
    expect(before.matched).toEqual([]);
    expect(before.ignored).toMatchObject([{ system: LOCAL, code: "7702101", reason: "no-concept", resources: 5 }]);
    const after = classifyCodeGroups([group], mappingIndexOf([mapping(LOCAL, "7702101", "measure:itch")]));
    expect(after.ignored).toEqual([]);
    expect(after.matched).toMatchObject([{ system: LOCAL, code: "7702101", concept: "measure:itch", how: "site-mapping" }]);
  });

  it("says when a local code matched only by its text", () => {
    const { matched } = classifyCodeGroups([{ part: "Observation", concept: coded(LOCAL, "7702101", undefined, "Peak itch NRS"), resources: 3 }], NONE);
    expect(matched).toMatchObject([{ concept: "measure:itch", how: "text", system: LOCAL, code: "7702101", display: "Peak itch NRS" }]);
  });

  it("merges groups of the same code and outcome and sums their resources", () => {
    const { matched } = classifyCodeGroups(
      [
        { part: "Observation", concept: coded(INSTRUMENT_SYSTEM, "easi", "EASI"), resources: 4 },
        { part: "Observation", concept: coded(INSTRUMENT_SYSTEM, "easi", "EASI total score"), resources: 6 },
      ],
      NONE,
    );
    expect(matched).toHaveLength(1);
    expect(matched[0]).toMatchObject({ concept: "measure:easi", resources: 10 });
  });

  it("normalises an OID alias of LOINC to the system the engine compares", () => {
    const { matched } = classifyCodeGroups([{ part: "Observation", concept: coded("urn:oid:2.16.840.1.113883.6.1", "1742-6"), resources: 1 }], NONE);
    expect(matched[0]).toMatchObject({ system: LOINC, code: "1742-6", concept: "lab:alt" });
  });

  it("reports a visit panel with components as a panel, and its components on their own", () => {
    const { matched, ignored } = classifyCodeGroups(
      [
        { part: "Observation", concept: coded(LOCAL, "7702100", "Eczema assessment"), hasComponents: true, resources: 2 },
        { part: "Observation.component", concept: coded(INSTRUMENT_SYSTEM, "iga"), resources: 2 },
      ],
      NONE,
    );
    expect(ignored).toMatchObject([{ code: "7702100", reason: "panel" }]);
    expect(matched).toMatchObject([{ part: "Observation.component", concept: "measure:iga" }]);
  });

  it("reads generic pain severity as skin pain only with skin context", () => {
    const pain = coded(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported");
    const { matched, ignored } = classifyCodeGroups(
      [
        { part: "Observation", concept: pain, skinContext: true, resources: 3 },
        { part: "Observation", concept: pain, skinContext: false, resources: 7 },
      ],
      NONE,
    );
    expect(matched).toMatchObject([{ concept: "measure:pain", resources: 3 }]);
    expect(ignored).toMatchObject([{ reason: "generic-pain-not-skin", resources: 7 }]);
  });

  it("ignores an Observation whose code matches a drug, with that reason", () => {
    const { ignored } = classifyCodeGroups([{ part: "Observation", concept: coded("http://www.whocc.no/atc", "D11AH08"), resources: 1 }], NONE);
    expect(ignored).toMatchObject([{ reason: "not-observation-concept" }]);
  });

  it("ignores medications that are not tracked therapies and matches JAK inhibitors, also through ingredients", () => {
    const { matched, ignored } = classifyCodeGroups(
      [
        { part: "MedicationRequest", concept: coded("http://www.nlm.nih.gov/research/umls/rxnorm", "197361", "Amlodipine 5 MG Oral Tablet"), resources: 9 },
        { part: "MedicationStatement", concept: { text: "Rinvoq 15 mg" }, resources: 2 },
        { part: "MedicationRequest", concept: coded(LOCAL_MED, "8472115"), alternatives: [coded("http://www.whocc.no/atc", "L04AF03")], resources: 4 },
      ],
      NONE,
    );
    expect(ignored).toMatchObject([{ part: "MedicationRequest", code: "197361", reason: "not-tracked-therapy", resources: 9 }]);
    expect(matched.map((m) => [m.part, m.concept, m.how])).toEqual([
      ["MedicationRequest", "drug:upadacitinib", "system-code"],
      ["MedicationStatement", "drug:upadacitinib", "text"],
    ]);
  });

  it("notes that a corticosteroid counts only when topical", () => {
    const { matched } = classifyCodeGroups([{ part: "MedicationStatement", concept: { text: "Fluticasone inhaler" }, resources: 1 }], NONE);
    expect(matched[0]).toMatchObject({ concept: "therapy:topical corticosteroid:topical-corticosteroid" });
    expect(matched[0]?.note).toMatch(/topical/);
  });

  it("ignores vaccines other than zoster or live ones, and procedures other than phototherapy", () => {
    const { matched, ignored } = classifyCodeGroups(
      [
        { part: "Immunization", concept: coded("http://hl7.org/fhir/sid/cvx", "187", "Zoster recombinant"), resources: 1 },
        { part: "Immunization", concept: coded("http://hl7.org/fhir/sid/cvx", "141", "Influenza"), resources: 8 },
        { part: "Procedure", concept: { text: "Narrowband UVB phototherapy" }, resources: 2 },
        { part: "Procedure", concept: coded("http://snomed.info/sct", "80146002", "Appendectomy"), resources: 1 },
      ],
      NONE,
    );
    expect(matched.map((m) => m.concept).sort()).toEqual(["therapy:phototherapy:phototherapy", "vaccine:zoster"]);
    expect(ignored.map((m) => m.reason).sort()).toEqual(["not-phototherapy", "not-zoster-or-live-vaccine"]);
  });

  it("reports a concept without any coding or text as having no code", () => {
    const { ignored } = classifyCodeGroups([{ part: "MedicationDispense", concept: null, resources: 3 }], NONE);
    expect(ignored).toMatchObject([{ reason: "no-code", system: null, code: null, resources: 3 }]);
  });

  it("keeps text-only concepts with different texts apart", () => {
    const { ignored } = classifyCodeGroups(
      [
        { part: "Observation", concept: { text: "Blood pressure" }, resources: 1 },
        { part: "Observation", concept: { text: "Heart rate" }, resources: 1 },
      ],
      NONE,
    );
    expect(ignored.map((r) => r.display).sort()).toEqual(["Blood pressure", "Heart rate"]);
  });
});

describe("site mappings in the coverage view", () => {
  it("counts the resources each mapping matched and flags unknown concepts and built-in codes", () => {
    const mappings = [mapping(LOCAL, "7702101", "measure:itch", "1"), mapping(LOCAL, "9", "measure:nonsense", "2"), mapping(LOINC, "751-8", "measure:itch", "3")];
    const { matched } = classifyCodeGroups([{ part: "Observation", concept: coded(LOCAL, "7702101"), resources: 6 }], mappingIndexOf(mappings));
    const coverage = mappingCoverage(mappings, matched);
    expect(coverage.map((m) => [m.id, m.resources, m.invalidConcept, m.shadowedBy])).toEqual([
      ["1", 6, false, null],
      ["2", 0, true, null],
      ["3", 0, false, "lab:anc"],
    ]);
  });

  it("knows which codes the built-in table already matches", () => {
    expect(builtInConceptFor(LOINC, "751-8")).toBe("lab:anc");
    expect(builtInConceptFor("urn:oid:2.16.840.1.113883.6.1", "751-8")).toBe("lab:anc");
    expect(builtInConceptFor(LOCAL, "7702101")).toBeNull();
  });

  it("offers only concept ids the engine parses", () => {
    const ids = MAPPABLE_CONCEPTS.flatMap((g) => g.options.map((o) => o.id));
    expect(ids.length).toBeGreaterThan(40);
    for (const id of ids) expect(parseConceptId(id), id).not.toBeNull();
    expect(new Set(ids).size).toBe(ids.length);
  });
});
