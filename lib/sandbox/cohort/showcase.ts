/**
 * Hand-designed "showcase" patients pt-000001 .. pt-000008: the same stories in every cohort (dates are
 * relative to asOf, independent of the seed), documented in README.md for the demo and e2e tests.
 */
import type { JakDrug } from "./codes";
import type { CoursePlan, LabEvent, LabKind, MeasureKey, PatientPlan, ScoreEvent } from "./plan";
import { newPatientPlan, normalizeScores } from "./plan";
import { patientIdFor } from "./random-plan";

export const SHOWCASE_COUNT = 8;
const YEAR = 365;

type Values = Partial<Record<MeasureKey, number>>;

class ShowcaseBuilder {
  readonly plan: PatientPlan;
  constructor(index: number, archetype: string, person: { sex: "male" | "female"; age: number; given: string; family: string; offset: string }, asOfDay: number) {
    this.plan = newPatientPlan({
      index,
      patientId: patientIdFor(index),
      archetype,
      sex: person.sex,
      birthDay: asOfDay - person.age * YEAR - 100 - Math.floor(person.age / 4),
      offset: person.offset,
      given: person.given,
      family: person.family,
      adOnsetDay: asOfDay - person.age * YEAR + 2 * YEAR,
      practitionerId: index % 2 === 0 ? "pr-derm-1" : "pr-derm-2",
    });
  }

  clinic(day: number, values: Values, extra: Partial<ScoreEvent> = {}): this {
    for (const [measure, value] of Object.entries(values) as [MeasureKey, number][]) {
      this.plan.scores.push({ day, measure, value, source: "clinic", coding: "app", valueForm: "quantity", status: "final", minuteOfDay: 9 * 60 + 30, ...extra });
    }
    return this;
  }

  diary(day: number, values: Values): this {
    for (const [measure, value] of Object.entries(values) as [MeasureKey, number][]) {
      this.plan.scores.push({ day, measure, value, source: "diary", coding: "app", valueForm: "integer", status: "final", minuteOfDay: 21 * 60 });
    }
    return this;
  }

  labs(day: number, kinds: LabKind[], extra: Partial<LabEvent> = {}): this {
    for (const kind of kinds) this.plan.labs.push({ day, kind, minuteOfDay: 8 * 60, units: "us", ...extra });
    return this;
  }

  course(drug: JakDrug, doses: CoursePlan["doses"], representation: CoursePlan["representation"], extra: Partial<CoursePlan> = {}): this {
    this.plan.courses.push({ drug, doses, representation, ...extra });
    return this;
  }

  build(): PatientPlan {
    this.plan.scores = normalizeScores(this.plan.scores);
    this.plan.labs.sort((a, b) => a.day - b.day);
    this.plan.vaccinations.sort((a, b) => a.day - b.day);
    return this.plan;
  }
}

const ORAL_BASELINE_LABS: LabKind[] = ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "liver"];

/** The showcase plan for index 0..7 at asOf (as a day number). */
export function showcasePlan(index: number, asOfDay: number): PatientPlan {
  const A = asOfDay;
  switch (index) {
    case 0: {
      // Upadacitinib 15 mg responder: early itch relief (week 2), EASI-75 at weeks 12 and 16.
      const S = A - 150;
      const b = new ShowcaseBuilder(0, "responder", { sex: "male", age: 34, given: "Marcus", family: "Showcase-Responder", offset: "-05:00" }, A)
        .course("upadacitinib", [{ startDay: S, endDay: null, strength: "15" }], "statement-codeable")
        .clinic(S - 2, { easi: 24.0, iga: 3, itch: 8, pain: 7, bsa: 30, dlqi: 15 })
        .clinic(S + 13, { itch: 3, pain: 3 })
        .clinic(S + 29, { easi: 12.0, iga: 2, itch: 2, pain: 2 })
        .clinic(S + 57, { easi: 7.5, iga: 2, itch: 2 })
        .clinic(S + 85, { easi: 6.0, iga: 1, itch: 2, pain: 1 })
        .clinic(S + 112, { easi: 3.6, iga: 1, itch: 1, pain: 1, bsa: 3, dlqi: 2 })
        .labs(S - 10, ORAL_BASELINE_LABS)
        .labs(S + 29, ["cbc"])
        .labs(S + 85, ["lipids"]);
      b.plan.otherTherapies.push(
        { therapy: "triamcinolone", startDay: S - 3 * YEAR, endDay: S - 10, resource: "statement" },
        { therapy: "tacrolimus", startDay: S - 2 * YEAR, endDay: S - 60, resource: "request" },
      );
      b.plan.vaccinations.push({ day: S - 200, vaccine: "zosterRecombinant" }, { day: S - 130, vaccine: "zosterRecombinant" });
      const plan = b.build();
      // An entered-in-error duplicate of the week-16 EASI the engine must drop.
      const week16Easi = plan.scores.find((s) => s.day === S + 112 && s.measure === "easi");
      if (week16Easi) week16Easi.enteredInErrorValue = 18.0;
      return plan;
    }
    case 1: {
      // Abrocitinib 100 mg non-responder at weeks 2, 4, 12 and 16; week-4 platelets and lipids never drawn.
      const S = A - 160;
      const b = new ShowcaseBuilder(1, "non-responder", { sex: "female", age: 45, given: "Helena", family: "Showcase-Nonresponder", offset: "-04:00" }, A)
        .course("abrocitinib", [{ startDay: S, endDay: null, strength: "100" }], "request-bounds")
        .clinic(S - 1, { easi: 28.0, iga: 4, itch: 7, pain: 6, bsa: 35, dlqi: 18 })
        .clinic(S + 14, { itch: 6, pain: 6 })
        .clinic(S + 28, { easi: 26.5, iga: 4, itch: 6 })
        .clinic(S + 84, { easi: 24.0, iga: 4, itch: 6 }, { status: "amended" })
        .clinic(S + 112, { easi: 22.0, iga: 3, itch: 5 })
        .clinic(S + 150, { easi: 21.5, iga: 3, itch: 6 })
        .labs(S - 14, ["tb-screen", "hbv-screen", "hcv-screen", "cbc", "lipids"]);
      b.plan.otherTherapies.push(
        { therapy: "clobetasol", startDay: S - 4 * YEAR, endDay: S - 30, resource: "request" },
        { therapy: "dupilumab", startDay: S - 500, endDay: S - 40, resource: "statement" },
      );
      return b.build();
    }
    case 2: {
      // Ruxolitinib cream responder at week 8, BSA well within the 20 % limit, 60 g per 2 weeks.
      const S = A - 75;
      const b = new ShowcaseBuilder(2, "responder", { sex: "female", age: 15, given: "Lily", family: "Showcase-Cream", offset: "-08:00" }, A)
        .course("ruxolitinib-cream", [{ startDay: S, endDay: null, strength: "1.5" }], "request-bounds", { creamGrams: 60, creamSupplyDays: 14 })
        .clinic(S - 3, { easi: 8.4, iga: 3, itch: 6, bsa: 12, dlqi: 9 })
        .clinic(S + 14, { itch: 2 })
        .clinic(S + 28, { easi: 4.0, iga: 2, itch: 2, bsa: 6 })
        .clinic(S + 56, { easi: 2.1, iga: 1, itch: 1, bsa: 3, dlqi: 2 });
      b.plan.otherTherapies.push({ therapy: "hydrocortisone", startDay: S - 5 * YEAR, endDay: S - 20, resource: "statement" });
      return b.build();
    }
    case 3: {
      // Baricitinib 4 mg: baseline TB screen missing, neutrophils 0.6-0.9 x10*9/L at week 4 (critical).
      const S = A - 100;
      const b = new ShowcaseBuilder(3, "responder", { sex: "male", age: 52, given: "Viktor", family: "Showcase-Labs", offset: "+01:00" }, A)
        .course("baricitinib", [{ startDay: S, endDay: null, strength: "4" }], "statement-contained")
        .clinic(S - 5, { easi: 30.0, iga: 4, itch: 8, pain: 5, bsa: 40 })
        .clinic(S + 12, { itch: 5, pain: 4 })
        .clinic(S + 30, { easi: 21.0, iga: 3, itch: 4, pain: 3 })
        .clinic(S + 58, { easi: 13.5, iga: 3, itch: 3 })
        .labs(S - 20, ["hbv-screen", "hcv-screen", "cbc", "liver"], { units: "si" })
        .labs(S + 30, ["cbc"], { units: "si", lowNeutrophils: true });
      b.plan.otherTherapies.push({ therapy: "triamcinolone", startDay: S - 3 * YEAR, endDay: S - 5, resource: "statement" });
      return b.build();
    }
    case 4: {
      // No JAK course: topical therapy then dupilumab (the engine must find no course).
      const b = new ShowcaseBuilder(4, "no-jak", { sex: "female", age: 28, given: "Nadia", family: "Showcase-Dupilumab", offset: "-06:00" }, A);
      b.plan.otherTherapies.push(
        { therapy: "triamcinolone", startDay: A - 4 * YEAR, endDay: null, resource: "statement" },
        { therapy: "tacrolimus", startDay: A - 3 * YEAR, endDay: A - 400, resource: "statement" },
        { therapy: "dupilumab", startDay: A - YEAR, endDay: null, resource: "request" },
      );
      for (const [k, easi] of [[380, 22.5], [290, 14.0], [200, 9.5], [110, 7.0], [20, 6.2]] as const) b.clinic(A - k, { easi, iga: easi > 10 ? 3 : 2, itch: Math.round(easi / 3) });
      return b.build();
    }
    case 5: {
      // Upadacitinib 15 mg non-responder stopped at day 145, switched to abrocitinib 200 mg (a new course).
      const S1 = A - 260;
      const S2 = S1 + 150;
      const b = new ShowcaseBuilder(5, "switch", { sex: "male", age: 41, given: "Jonas", family: "Showcase-Switch", offset: "-05:00" }, A)
        .course("upadacitinib", [{ startDay: S1, endDay: S1 + 145, strength: "15" }], "statement-codeable")
        .course("abrocitinib", [{ startDay: S2, endDay: null, strength: "200" }], "request-authored")
        .clinic(S1 - 4, { easi: 26.0, iga: 4, itch: 8, pain: 6, bsa: 38 })
        .clinic(S1 + 14, { itch: 6, pain: 5 })
        .clinic(S1 + 28, { easi: 22.0, iga: 4, itch: 6 })
        .clinic(S1 + 84, { easi: 20.0, iga: 4, itch: 6 })
        .clinic(S1 + 112, { easi: 19.0, iga: 3, itch: 6 })
        .clinic(S2 - 1, { easi: 22.0, iga: 4, itch: 7, pain: 6, bsa: 40 })
        .clinic(S2 + 14, { itch: 3, pain: 2 })
        .clinic(S2 + 28, { easi: 12.0, iga: 3, itch: 2 })
        .clinic(S2 + 84, { easi: 5.5, iga: 1, itch: 1 })
        .labs(S1 - 10, ORAL_BASELINE_LABS)
        .labs(S1 + 84, ["lipids"])
        .labs(S2 - 5, ["cbc", "lipids"])
        .labs(S2 + 30, ["cbc", "lipids"]);
      b.plan.otherTherapies.push({ therapy: "triamcinolone", startDay: S1 - 6 * YEAR, endDay: S1 - 3, resource: "request" });
      return b.build();
    }
    case 6:
      return longHistoryPlan(A);
    case 7: {
      // Daily itch and pain diary, partial responder on upadacitinib 15 mg: week 2 missed, itch relief from week 4,
      // EASI-50 (not 75) at week 16.
      const S = A - 120;
      const b = new ShowcaseBuilder(7, "partial", { sex: "female", age: 30, given: "Sofia", family: "Showcase-Diary", offset: "-07:00" }, A)
        .course("upadacitinib", [{ startDay: S, endDay: null, strength: "15" }], "request-authored")
        .clinic(S - 2, { easi: 20.0, iga: 3, bsa: 25, dlqi: 14 })
        .clinic(S + 84, { easi: 12.0, iga: 2 })
        .clinic(S + 112, { easi: 9.0, iga: 2, bsa: 11, dlqi: 7 })
        .labs(S - 7, [...ORAL_BASELINE_LABS, "pregnancy"])
        .labs(S + 80, ["lipids"]);
      for (let d = S - 7; d < A; d++) {
        const t = d - S;
        const itch = t <= 0 ? (t % 2 === 0 ? 8 : 7) : t <= 14 ? 5 : t <= 21 ? 4 : 3;
        const pain = t <= 0 ? 5 : t <= 14 ? 4 : 3;
        b.diary(d, { itch, pain });
      }
      b.plan.otherTherapies.push({ therapy: "tacrolimus", startDay: S - 2 * YEAR, endDay: S - 30, resource: "statement" });
      return b.build();
    }
    default:
      throw new Error(`no showcase patient ${index}`);
  }
}

/** pt-000007: three years of data (weekly diary throughout, daily diary for the last 90 days, periodic labs). */
function longHistoryPlan(A: number): PatientPlan {
  const S = A - 900;
  const first = A - 3 * YEAR;
  const b = new ShowcaseBuilder(6, "responder", { sex: "female", age: 38, given: "Clara", family: "Showcase-Longhistory", offset: "-05:00" }, A)
    .course("upadacitinib", [{ startDay: S, endDay: null, strength: "30" }], "statement-local")
    .labs(S - 12, [...ORAL_BASELINE_LABS, "pregnancy"])
    .labs(S + 84, ["lipids"]);
  b.plan.otherTherapies.push(
    { therapy: "triamcinolone", startDay: first - YEAR, endDay: S - 5, resource: "statement" },
    { therapy: "dupilumab", startDay: S - 400, endDay: S - 30, resource: "request" },
  );
  b.plan.vaccinations.push({ day: S - 300, vaccine: "zosterRecombinant" }, { day: S - 220, vaccine: "zosterRecombinant" });
  for (let y = 0; y < 3; y++) b.plan.vaccinations.push({ day: A - 30 - y * YEAR, vaccine: "influenza" });
  // Deterministic wobble without a PRNG: values cycle within bands chosen so every checkpoint is clear.
  const wobble = (d: number, n: number) => ((d % n) + n) % n;
  for (let d = first; d < A; d += 7) {
    const t = d - S;
    const itch = t < 4 ? 7 + wobble(d, 3) : t <= 10 ? 5 : 1 + wobble(d, 3);
    const pain = t < 4 ? 6 + wobble(d, 3) : t <= 10 ? 4 : wobble(d, 3);
    b.diary(d, { itch, pain });
  }
  for (let d = A - 90; d < A; d++) b.diary(d, { itch: 1 + wobble(d, 2), pain: wobble(d, 2) });
  for (let d = first; d < S - 30; d += 91) b.clinic(d, { easi: 30 + wobble(d, 5), iga: 4, itch: 8 });
  b.clinic(S - 3, { easi: 32.0, iga: 4, itch: 8, pain: 7, bsa: 45, dlqi: 20, poem: 22 })
    .clinic(S + 14, { itch: 2, pain: 1 })
    .clinic(S + 28, { easi: 14.0, iga: 3, itch: 2, pain: 1 })
    .clinic(S + 56, { easi: 6.0, iga: 2, itch: 2 })
    .clinic(S + 84, { easi: 4.0, iga: 1, itch: 1, pain: 0, dlqi: 3 })
    .clinic(S + 112, { easi: 2.5, iga: 1, itch: 1, pain: 0, bsa: 4, dlqi: 2, poem: 4 });
  for (let d = S + 112 + 84; d < A; d += 84) {
    b.clinic(d, { easi: 1.5 + wobble(d, 3) / 2, iga: 1, itch: 1 + wobble(d, 2), bsa: 2 + wobble(d, 3), dlqi: 1 + wobble(d, 3) });
    b.labs(d - 2, ["cbc", "liver"]);
    if (wobble(d, 4) === 0) b.labs(d - 2, ["lipids"], { units: "si" });
  }
  return b.build();
}
