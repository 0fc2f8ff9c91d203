import { describe, expect, it } from "vitest";
import { evaluatePatient } from "../clinical/evaluate";
import type { Flag, PatientEvaluation } from "../clinical/types";
import { currentCourse, flagsForCourse } from "../patient-view/overview";
import { generateCohort } from "../sandbox/cohort";
import type { CdsCard, RuledCard } from "./card-types";
import { CDS_OVERRIDE_REASON_SYSTEM, clipSummary, linkTarget, patientViewCards, patientViewConcerns, UNREADABLE_RULE_ID } from "./cards";
import { baselineLabs, context, day, lab, onJak, patient, PATIENT_ID, score, vaccine, zoster, type R } from "./cards.test-helper";

function evaluate(resources: R[], asOf: string): PatientEvaluation {
  return evaluatePatient(resources, { asOf, patientId: PATIENT_ID });
}

function cardsFor(resources: R[], asOfOffset: number): { evaluation: PatientEvaluation; cards: RuledCard[] } {
  const asOf = day(asOfOffset);
  const evaluation = evaluate(resources, asOf);
  return { evaluation, cards: patientViewCards(evaluation, context(asOf)) };
}

function serviceRequestCodes(card: CdsCard, suggestion = 0): string[] {
  return (card.suggestions?.[suggestion]?.actions ?? []).map((a) => (a.resource as { code: { coding: Array<{ code: string }> } }).code.coding[0]!.code);
}

/** Upadacitinib from day 0 with every baseline lab, the week-12 lipids and a zoster vaccination on record. */
const upadacitinibWithScreening = (): R[] => [patient(), onJak("upadacitinib"), zoster(day(-100)), ...baselineLabs(), lab("2093-3", 80, 180, "mg/dL")];

describe("patient-view cards", () => {
  it("a patient not responded at week 16 gets one warning card naming drug, week and EASI change, citing the label", () => {
    const { evaluation, cards } = cardsFor([...upadacitinibWithScreening(), score("easi", -5, 20), score("easi", 112, 14)], 150);
    const flag = evaluation.flags.find((f) => f.ruleId === "upadacitinib.week-16.non-response")!;
    expect(cards).toHaveLength(1);
    const { card, ruleIds } = cards[0]!;
    expect(ruleIds).toEqual(["upadacitinib.week-16.non-response"]);
    expect(card.indicator).toBe("warning");
    expect(card.summary).toBe("Not responded to upadacitinib at week 16 (EASI -30%, needs -50%)");
    expect(card.source).toEqual({ label: flag.sourceLabel, url: flag.sourceUrl });
    expect(card.source.url).toMatch(/^https:\/\//);
    expect(card.detail).toContain("`upadacitinib.week-16.non-response`");
    expect(card.detail).toContain(`](${linkTarget(flag.sourceUrl)})`);
    expect(card.detail).toContain("EASI: 20 to 14");
    expect(card.links).toEqual([{ label: "Open JAK Monitor", url: "https://jak-monitor.test/launch", type: "smart" }]);
    expect(card.uuid).toBe("uuid-1");
  });

  it("an early-signal miss at week 2 gives an info card while week 2 is the latest decided checkpoint", () => {
    const { cards } = cardsFor([...upadacitinibWithScreening(), score("skin-pain-nrs", -2, 7), score("skin-pain-nrs", 14, 5)], 25);
    expect(cards.map((c) => [c.card.indicator, c.card.summary, c.ruleIds])).toEqual([
      ["info", "No early response to upadacitinib at week 2 (skin pain -2, needs -3)", ["upadacitinib.week-2.early-signal"]],
    ]);
  });

  it("an early-signal miss at week 2 is no card once week 4 has been decided responded", () => {
    const resources = [...upadacitinibWithScreening(), score("skin-pain-nrs", -2, 7), score("skin-pain-nrs", 14, 5), score("itch-nrs", -2, 8), score("itch-nrs", 14, 7), score("itch-nrs", 28, 3)];
    const { evaluation, cards } = cardsFor(resources, 45);
    expect(evaluation.flags.map((f) => f.ruleId)).toContain("upadacitinib.week-2.early-signal");
    expect(evaluation.courses[0]!.checkpoints.find((c) => c.week === 4)!.verdict).toBe("responded");
    expect(cards).toEqual([]);
  });

  it("missing baseline labs become one warning card listing them, with a recommended suggestion ordering all and one per lab", () => {
    const { cards } = cardsFor([patient(), onJak("upadacitinib"), zoster(day(-100))], 10);
    expect(cards).toHaveLength(1);
    const { card, ruleIds } = cards[0]!;
    expect(ruleIds).toEqual(["labs.baseline-missing"]);
    expect(card.indicator).toBe("warning");
    expect(card.summary).toBe("Missing baseline labs for upadacitinib: TB, hepatitis B, hepatitis C, CBC, liver enzymes");
    expect(card.selectionBehavior).toBe("any");
    expect(card.suggestions!.map((s) => [s.label, s.isRecommended])).toEqual([
      ["Order the missing baseline labs", true],
      ["Order TB screening (IGRA)", false],
      ["Order hepatitis B screening (HBsAg and anti-HBc)", false],
      ["Order hepatitis C screening (anti-HCV)", false],
      ["Order CBC with ANC, ALC, hemoglobin and platelets", false],
      ["Order liver enzymes (ALT and AST)", false],
    ]);
    expect(serviceRequestCodes(card)).toEqual(["71773-6", "5196-1", "16933-4", "16128-1", "58410-2", "751-8", "731-0", "1742-6", "1920-8"]);
    expect(card.suggestions![0]!.actions![0]).toMatchObject({
      type: "create",
      resource: { resourceType: "ServiceRequest", status: "draft", intent: "proposal", subject: { reference: `Patient/${PATIENT_ID}` } },
    });
    expect(new Set(card.suggestions!.map((s) => s.uuid)).size).toBe(6);
    expect(card.overrideReasons!.map((r) => r.display)).toEqual(["Result on file outside this EHR", "Screening done elsewhere, documented", "Patient declined", "Not clinically indicated"]);
    expect(card.overrideReasons!.every((r) => r.system === CDS_OVERRIDE_REASON_SYSTEM)).toBe(true);
  });

  it("overdue week-4 labs on abrocitinib become one card with orders for them", () => {
    const { cards } = cardsFor([patient(), onJak("abrocitinib"), zoster(day(-100)), ...baselineLabs()], 50);
    expect(cards).toHaveLength(1);
    expect(cards[0]!.ruleIds).toEqual(["labs.follow-up-overdue"]);
    expect(cards[0]!.card.summary).toBe("Overdue labs on abrocitinib: week-4 CBC, week-4 lipids");
    expect(cards[0]!.card.suggestions![0]!.label).toBe("Order the overdue labs");
    expect(serviceRequestCodes(cards[0]!.card)).toEqual(["58410-2", "751-8", "731-0", "57698-3"]);
  });

  it("abnormal results give one card per analyte rule, the critical one first, naming the latest result", () => {
    const resources = [
      ...upadacitinibWithScreening(),
      lab("751-8", 30, 0.8, "10*3/uL"), lab("751-8", 60, 0.7, "10*3/uL"),
      lab("1742-6", 30, 130, "U/L", { referenceRange: [{ high: { value: 40, unit: "U/L" } }] }),
    ];
    const { cards } = cardsFor(resources, 70);
    expect(cards.map((c) => [c.card.indicator, c.ruleIds])).toEqual([
      ["critical", ["abnormal.anc-low"]],
      ["warning", ["abnormal.transaminase-high"]],
    ]);
    expect(cards[0]!.card.summary).toContain(`0.7 x10*3/uL on ${day(60)}`);
    expect(cards[0]!.card.summary).toMatch(/\(2 results\)$/);
    expect(cards[0]!.card.detail).toContain(`0.8 x10\\*3/uL on ${day(30)}`);
  });

  it("no zoster vaccination gives an info card and a live vaccine during the course a warning card, the warning first", () => {
    const { cards } = cardsFor([patient(), onJak("upadacitinib"), ...baselineLabs(), vaccine("03", day(20), "MMR")], 40);
    expect(cards.map((c) => [c.card.indicator, c.ruleIds, c.card.summary])).toEqual([
      ["warning", ["vaccination.live-during-oral-jak"], `Live vaccine on ${day(20)} during upadacitinib: live vaccines are to be avoided`],
      ["info", ["vaccination.no-zoster-before-oral-jak"], `No zoster vaccination on record before upadacitinib (started ${day(0)})`],
    ]);
    expect(cards[1]!.card.overrideReasons!.map((r) => r.code)).toEqual(["vaccinated-elsewhere", "patient-declined", "not-indicated"]);
  });

  it("a course that has ended gives no cards, though its flags stay on the patient page", () => {
    const { evaluation, cards } = cardsFor([patient(), onJak("upadacitinib", 0, 50)], 150);
    expect(evaluation.flags.some((f) => f.kind === "missing-lab")).toBe(true);
    expect(cards).toEqual([]);
  });

  it("data that could not be read is named in every card's detail", () => {
    const asOf = day(10);
    const evaluation = evaluate([patient(), onJak("upadacitinib")], asOf);
    const cards = patientViewCards(evaluation, context(asOf, { unreadable: ["Immunization: the EHR did not allow the search"] }));
    expect(cards.length).toBeGreaterThan(0);
    for (const { card } of cards) expect(card.detail).toContain("Immunization: the EHR did not allow the search");
  });

  it("when nothing is flagged but data could not be read, one info card says so", () => {
    const asOf = day(200);
    const evaluation = evaluate([...upadacitinibWithScreening(), lab("1742-6", 150, 20, "U/L"), lab("718-7", 150, 14, "g/dL")], asOf);
    expect(patientViewCards(evaluation, context(asOf))).toEqual([]);
    const cards = patientViewCards(evaluation, context(asOf, { unreadable: ["Observation: prefetch missing and no FHIR authorization"] }));
    expect(cards.map((c) => [c.card.indicator, c.ruleIds])).toEqual([["info", [UNREADABLE_RULE_ID]]]);
    expect(cards[0]!.card.detail).toContain("Observation: prefetch missing and no FHIR authorization");
  });

  it("a link target keeps its parentheses from ending the markdown link", () => {
    expect(linkTarget("https://doi.org/10.1016/S0140-6736(21)00588-2")).toBe("https://doi.org/10.1016/S0140-6736%2821%2900588-2");
  });

  it("a summary longer than 139 characters is cut at a word with an ellipsis", () => {
    const long = `${"word ".repeat(40)}end`;
    const clipped = clipSummary(long);
    expect(clipped.length).toBeLessThan(140);
    expect(clipped).toMatch(/word…$/);
    expect(clipSummary("short one")).toBe("short one");
  });
});

const LISTED_KINDS = new Set(["missing-lab", "overdue-lab", "abnormal-lab", "vaccination"]);
const DECIDED = new Set(["responded", "not-responded", "not-assessable"]);

/**
 * The flags the issue lists, derived here independently of cards.ts: the latest course while it runs; its
 * missing/overdue/abnormal-lab and vaccination flags; the response flag of its latest decided checkpoint when
 * that one was not responded.
 */
function listedFlags(evaluation: PatientEvaluation, asOf: string): Flag[] {
  const index = evaluation.courses.length - 1;
  const course = evaluation.courses[index];
  if (!course || (course.end !== null && course.end < asOf)) return [];
  const decided = course.checkpoints.filter((c) => DECIDED.has(c.verdict)).sort((a, b) => b.week - a.week)[0];
  return evaluation.flags.filter((f) => f.course === index && (LISTED_KINDS.has(f.kind)
    || (decided?.verdict === "not-responded" && (f.kind === "non-response" || f.kind === "early-signal") && f.week === decided.week)));
}

describe("patient-view cards on the generated cohort (100 patients, as of 2026-11-01)", () => {
  const asOf = "2026-11-01";
  const patients = [...generateCohort({ patients: 100, seed: 42, asOf })].map((p) => {
    const evaluation = evaluatePatient(p.resources, { asOf, patientId: p.patientId });
    return { ...p, evaluation, cards: patientViewCards(evaluation, context(asOf, { patientId: p.patientId })) };
  });

  it("the rule ids behind each patient's cards are exactly those of the patient's flags of the listed kinds (cards never disagree with the patient page)", () => {
    const kindsSeen = new Set<string>();
    for (const { patientId, evaluation, cards } of patients) {
      const expected = listedFlags(evaluation, asOf);
      for (const f of expected) kindsSeen.add(f.kind);
      const fromCards = new Set(cards.flatMap((c) => c.ruleIds));
      expect([...fromCards].sort(), patientId).toEqual([...new Set(expected.map((f) => f.ruleId))].sort());
      // Grouping only merges: the concerns hold exactly these flags, each once.
      const grouped = patientViewConcerns(evaluation, asOf).flatMap((c) => c.flags);
      expect(grouped.length, patientId).toBe(expected.length);
      expect(new Set(grouped), patientId).toEqual(new Set(expected));
      // And every one of them is a flag the patient page shows for its current course.
      const page = flagsForCourse(evaluation.flags, currentCourse(evaluation, asOf)?.index ?? null);
      for (const f of grouped) expect(page, patientId).toContain(f);
    }
    // The cohort exercises every listed concern, so the equality above is not vacuous.
    expect([...kindsSeen].sort()).toEqual(["abnormal-lab", "early-signal", "missing-lab", "non-response", "overdue-lab", "vaccination"]);
  });

  it("every card is well formed: short summary, most severe first, a source with a link, the smart link, one concern per card", () => {
    const rank = { critical: 0, warning: 1, info: 2 };
    let cardCount = 0;
    for (const { patientId, cards } of patients) {
      cardCount += cards.length;
      const ranks = cards.map((c) => rank[c.card.indicator]);
      expect(ranks, patientId).toEqual([...ranks].sort((a, b) => a - b));
      const responseCards = cards.filter((c) => c.ruleIds.some((r) => /\.week-\d+\./.test(r)));
      expect(responseCards.length, patientId).toBeLessThanOrEqual(1);
      for (const { card, ruleIds } of cards) {
        expect(card.summary.length, card.summary).toBeLessThan(140);
        expect(card.source.label.length).toBeGreaterThan(0);
        expect(card.source.url, card.source.label).toMatch(/^https:\/\//);
        expect(card.links).toEqual([{ label: "Open JAK Monitor", url: "https://jak-monitor.test/launch", type: "smart" }]);
        expect(ruleIds.length).toBeGreaterThan(0);
        for (const ruleId of ruleIds) expect(card.detail).toContain(`\`${ruleId}\``);
        if (card.suggestions) expect(card.selectionBehavior).toBe("any");
      }
    }
    expect(cardCount).toBeGreaterThan(50);
  });

  it("the showcase non-responder on abrocitinib gets the week-16 card first, with overdue labs and zoster after it", () => {
    const p = patients.find((x) => x.patientId === "pt-000002")!;
    expect(p.cards.map((c) => c.card.summary)).toEqual([
      "Not responded to abrocitinib at week 16 (EASI -21.4%, needs -50%; IGA 4 to 3, needs 0-1; itch -2, needs -4)",
      "Overdue labs on abrocitinib: week-4 CBC, week-4 lipids",
      "No zoster vaccination on record before abrocitinib (started 2026-05-25)",
    ]);
  });

  it("the showcase patient with no TB test and low neutrophils gets a critical card, then the missing TB screening with an IGRA order", () => {
    const p = patients.find((x) => x.patientId === "pt-000004")!;
    expect(p.cards.map((c) => [c.card.indicator, c.ruleIds[0]])).toEqual([
      ["critical", "abnormal.anc-low"],
      ["warning", "labs.baseline-missing"],
      ["info", "vaccination.no-zoster-before-oral-jak"],
    ]);
    expect(p.cards[1]!.card.summary).toBe("Missing baseline labs for baricitinib: TB");
    expect(serviceRequestCodes(p.cards[1]!.card)).toEqual(["71773-6"]);
  });
});
