import { describe, expect, it } from "vitest";
import { DEFAULT_RULES, type RuleSet } from "../clinical/rules";
import { generateCohort } from "../sandbox/cohort";
import type { CdsCard } from "./card-types";
import { CDS_OVERRIDE_REASON_SYSTEM, UNREADABLE_RULE_ID } from "./cards";
import { baselineLabs, context, day, draftBundle, draftOrder, lab, onJak, patient, PATIENT_ID, vaccine, zoster, type R } from "./cards.test-helper";
import { orderSignCards } from "./order-sign";

/** Orders are signed on day 0. */
const asOf = day(0);
const UPADACITINIB = draftOrder("upadacitinib 15 MG Extended Release Oral Tablet", "oral");
const ABROCITINIB = draftOrder("abrocitinib 100 MG Oral Tablet", "oral");
const RUXOLITINIB_CREAM = draftOrder("ruxolitinib 15 MG/G Topical Cream", "topical");
const woman30 = () => patient({ gender: "female", birthDate: "1996-01-15" });

function sign(resources: R[], drafts: R[], extra: { rules?: RuleSet; unreadable?: string[] } = {}) {
  return orderSignCards({ resources, draftOrders: [draftBundle(...drafts)], rules: extra.rules }, context(asOf, extra.unreadable ? { unreadable: extra.unreadable } : {}));
}

function summaries(cards: Array<{ card: CdsCard }>): string[] {
  return cards.map((c) => c.card.summary);
}

function orderedCodes(card: CdsCard): string[] {
  return (card.suggestions?.[0]?.actions ?? []).map((a) => (a.resource as { code: { coding: Array<{ code: string }> } }).code.coding[0]!.code);
}

describe("order-sign cards", () => {
  it("ordering upadacitinib for a woman of 30 without screening gives one warning card listing every baseline lab, with orders and override reasons", () => {
    const { cards, drafts } = sign([woman30()], [UPADACITINIB]);
    expect(drafts).toEqual({ recognised: [{ resource: "MedicationRequest/draft-1", drug: "upadacitinib", route: "oral" }], ignored: [] });
    expect(cards.map((c) => [c.card.indicator, c.ruleIds])).toEqual([
      ["warning", ["labs.baseline-missing"]],
      ["info", ["vaccination.no-zoster-before-oral-jak"]],
    ]);
    const screening = cards[0]!.card;
    expect(screening.summary).toBe("Missing baseline screening before upadacitinib: TB, hepatitis B, hepatitis C, CBC, liver enzymes, pregnancy test");
    expect(orderedCodes(screening)).toEqual(["71773-6", "5196-1", "16933-4", "16128-1", "58410-2", "751-8", "731-0", "1742-6", "1920-8", "21198-7"]);
    expect(screening.suggestions![0]).toMatchObject({ label: "Order the missing baseline labs", isRecommended: true });
    expect(screening.suggestions).toHaveLength(7);
    expect(screening.selectionBehavior).toBe("any");
    expect(screening.overrideReasons!.map((r) => [r.system, r.display])).toEqual([
      [CDS_OVERRIDE_REASON_SYSTEM, "Result on file outside this EHR"],
      [CDS_OVERRIDE_REASON_SYSTEM, "Screening done elsewhere, documented"],
      [CDS_OVERRIDE_REASON_SYSTEM, "Patient declined"],
      [CDS_OVERRIDE_REASON_SYSTEM, "Not clinically indicated"],
    ]);
    expect(screening.source.url).toMatch(/^https:\/\//);
    expect(screening.links).toEqual([{ label: "Open JAK Monitor", url: "https://jak-monitor.test/launch", type: "smart" }]);
    expect(cards[1]!.card.summary).toBe("No zoster vaccination on record before starting upadacitinib");
    expect(cards[1]!.card.overrideReasons!.length).toBeGreaterThan(0);
  });

  it("a screening card for abrocitinib cites abrocitinib's label, not another JAK inhibitor's", () => {
    const { cards } = sign([woman30()], [ABROCITINIB]);
    const screening = cards.find((c) => c.ruleIds.includes("labs.baseline-missing"))!.card;
    expect(screening.source.label).toMatch(/Cibinqo/);
    expect(screening.source.label).not.toMatch(/Rinvoq/);
  });

  it("with every screening lab and a zoster vaccination on record, ordering upadacitinib gives no cards", () => {
    const { cards, drafts } = sign([patient(), zoster(day(-300)), ...baselineLabs()], [UPADACITINIB]);
    expect(drafts.recognised.map((r) => r.drug)).toEqual(["upadacitinib"]);
    expect(cards).toEqual([]);
  });

  it("a draft of a drug that is no JAK inhibitor (dupilumab) gives no cards and is listed as ignored", () => {
    const { cards, drafts } = sign([patient()], [draftOrder("dupilumab 300 MG in 2 ML Prefilled Syringe", "oral")]);
    expect(drafts).toEqual({ recognised: [], ignored: ["MedicationRequest/draft-1"] });
    expect(cards).toEqual([]);
  });

  it("oral ruxolitinib (Jakafi) is not an eczema JAK: ignored, no cards", () => {
    const { cards, drafts } = sign([patient()], [draftOrder("Jakafi (ruxolitinib) 10 MG Oral Tablet", "oral")]);
    expect(drafts.ignored).toEqual(["MedicationRequest/draft-1"]);
    expect(cards).toEqual([]);
  });

  it("ruxolitinib cream gets only the TB 'consider' card: no oral labs, pregnancy test or vaccination cards", () => {
    const { cards, drafts } = sign([woman30()], [RUXOLITINIB_CREAM]);
    expect(drafts.recognised).toEqual([{ resource: "MedicationRequest/draft-1", drug: "ruxolitinib-cream", route: "topical" }]);
    expect(cards.map((c) => [c.card.indicator, c.ruleIds, c.card.summary])).toEqual([
      ["info", ["labs.tb-screen-consider"], "No TB screening on record before ruxolitinib cream: the label says to consider it"],
    ]);
    expect(orderedCodes(cards[0]!.card)).toEqual(["71773-6"]);
  });

  it("platelets of 140 before abrocitinib give a warning card saying the label says not to start", () => {
    const { cards } = sign([patient(), zoster(day(-300)), ...baselineLabs(), lab("777-3", -2, 140, "10*3/uL")], [ABROCITINIB]);
    expect(cards.map((c) => [c.card.indicator, c.ruleIds, c.card.summary])).toEqual([
      ["warning", ["abnormal.platelets-before-abrocitinib"], `Platelets 140 x10^3/uL on ${day(-2)}, below 150 x10^3/uL: the label says not to start abrocitinib`],
    ]);
    expect(cards[0]!.card.detail).toContain("140");
  });

  it("an ANC of 1.1 before abrocitinib is a card only when the site enables the EU start thresholds", () => {
    const resources = [patient(), zoster(day(-300)), ...baselineLabs(), lab("751-8", -2, 1.1, "10*3/uL")];
    expect(sign(resources, [ABROCITINIB]).cards).toEqual([]);
    const eu: RuleSet = { ...DEFAULT_RULES, thresholds: { ...DEFAULT_RULES.thresholds, euAbrocitinibStart: { ...DEFAULT_RULES.thresholds.euAbrocitinibStart, enabled: true } } };
    const { cards } = sign(resources, [ABROCITINIB], { rules: eu });
    expect(cards.map((c) => [c.card.indicator, c.ruleIds])).toEqual([["warning", ["abnormal.eu-abrocitinib-start-anc"]]]);
    expect(cards[0]!.card.summary).toMatch(/EU label says not to start abrocitinib$/);
  });

  it("an ANC below 1.0 before upadacitinib is a critical card, ahead of the others", () => {
    const { cards } = sign([patient(), ...baselineLabs(), lab("751-8", -2, 0.8, "10*3/uL")], [UPADACITINIB]);
    expect(cards.map((c) => [c.card.indicator, c.ruleIds[0]])).toEqual([
      ["critical", "abnormal.anc-low"],
      ["info", "vaccination.no-zoster-before-oral-jak"],
    ]);
  });

  it("a live vaccine 20 days before the start gives a warning card; one 40 days before does not", () => {
    const base = [patient(), zoster(day(-300)), ...baselineLabs()];
    const recent = sign([...base, vaccine("03", day(-20), "MMR")], [UPADACITINIB]).cards;
    expect(recent.map((c) => [c.card.indicator, c.ruleIds, c.card.summary])).toEqual([
      ["warning", ["vaccination.live-during-oral-jak"], `Live vaccine on ${day(-20)} (within 28 days): avoid live vaccines shortly before starting upadacitinib`],
    ]);
    expect(sign([...base, vaccine("03", day(-40), "MMR")], [UPADACITINIB]).cards).toEqual([]);
  });

  it("renewing the running upadacitinib course starts nothing: recognised, no cards even with labs missing", () => {
    const { cards, drafts } = sign([patient(), onJak("upadacitinib", -100)], [UPADACITINIB]);
    expect(drafts.recognised.map((r) => r.drug)).toEqual(["upadacitinib"]);
    expect(cards).toEqual([]);
  });

  it("switching from upadacitinib to abrocitinib starts a new course whose own baseline is checked (lipids)", () => {
    const labsWithoutLipids = baselineLabs().filter((r) => JSON.stringify(r).indexOf("2093-3") < 0);
    const { cards } = sign([patient(), onJak("upadacitinib", -100), zoster(day(-300)), ...labsWithoutLipids], [ABROCITINIB]);
    expect(summaries(cards)).toEqual(["Missing baseline screening before abrocitinib: lipids"]);
  });

  it("a draft with a later dosage start, intent proposal and no authoredOn is evaluated as starting today", () => {
    const later = { ...UPADACITINIB, intent: "proposal", dosageInstruction: [{ route: (UPADACITINIB.dosageInstruction as R[])[0]!.route, timing: { repeat: { boundsPeriod: { start: day(30) } } } }] };
    const { cards, drafts } = sign([patient()], [later]);
    expect(drafts.recognised.map((r) => r.drug)).toEqual(["upadacitinib"]);
    expect(cards.map((c) => c.ruleIds[0])).toEqual(["labs.baseline-missing", "vaccination.no-zoster-before-oral-jak"]);
  });

  it("a draft the EHR also returns in its medication search is counted once, as starting today", () => {
    const stored = { ...UPADACITINIB, authoredOn: day(-30) };
    const { cards } = sign([patient(), stored], [UPADACITINIB]);
    expect(cards.map((c) => c.ruleIds[0])).toEqual(["labs.baseline-missing", "vaccination.no-zoster-before-oral-jak"]);
  });

  it("a MedicationStatement draft is recognised like a request", () => {
    const statement = { ...onJak("baricitinib", 10), id: "ms-draft" };
    const { cards, drafts } = sign([patient(), zoster(day(-300))], [statement]);
    expect(drafts.recognised).toEqual([{ resource: "MedicationStatement/ms-draft", drug: "baricitinib", route: "oral" }]);
    expect(summaries(cards)).toEqual(["Missing baseline screening before baricitinib: TB, hepatitis B, hepatitis C, CBC, liver enzymes"]);
  });

  it("drafts for another patient and resources that are not medication orders are ignored", () => {
    const other = { ...UPADACITINIB, id: "draft-2", subject: { reference: "Patient/someone-else" } };
    const lab = { resourceType: "ServiceRequest", id: "sr-1", status: "draft", intent: "order", subject: { reference: `Patient/${PATIENT_ID}` } };
    const { cards, drafts } = sign([patient()], [other, lab]);
    expect(drafts).toEqual({ recognised: [], ignored: ["MedicationRequest/draft-2", "ServiceRequest/sr-1"] });
    expect(cards).toEqual([]);
  });

  it("data that could not be read is named in the cards, and alone makes a card when nothing else is shown", () => {
    const unreadable = ["Observation: prefetch missing and no FHIR authorization"];
    const flagged = sign([patient()], [UPADACITINIB], { unreadable }).cards;
    for (const { card } of flagged) expect(card.detail).toContain(unreadable[0]);
    const clean = sign([patient(), zoster(day(-300)), ...baselineLabs()], [UPADACITINIB], { unreadable }).cards;
    expect(clean.map((c) => [c.card.indicator, c.ruleIds])).toEqual([["info", [UNREADABLE_RULE_ID]]]);
    expect(sign([patient()], [draftOrder("dupilumab 300 MG", "oral")], { unreadable }).cards).toEqual([]);
  });

  it("a patient of the generated cohort with no JAK so far gets the missing-screening card when upadacitinib is ordered", () => {
    const cohortAsOf = "2026-11-01";
    const noJak = [...generateCohort({ patients: 13, seed: 42, asOf: cohortAsOf })].find((p) => p.expected.courses.length === 0 && p.patientId !== "pt-000005")!;
    const draft = { ...UPADACITINIB, subject: { reference: `Patient/${noJak.patientId}` } };
    const { cards, drafts } = orderSignCards({ resources: noJak.resources, draftOrders: [draftBundle(draft)] }, context(cohortAsOf, { patientId: noJak.patientId }));
    expect(drafts.recognised.map((r) => r.drug)).toEqual(["upadacitinib"]);
    expect(cards[0]!.ruleIds).toEqual(["labs.baseline-missing"]);
    expect(cards[0]!.card.summary).toMatch(/^Missing baseline screening before upadacitinib: TB, hepatitis B, hepatitis C, CBC, liver enzymes/);
    const subjects = new Set(cards[0]!.card.suggestions!.flatMap((s) => s.actions!.map((a) => (a.resource as { subject: { reference: string } }).subject.reference)));
    expect([...subjects]).toEqual([`Patient/${noJak.patientId}`]);
  });
});
