/**
 * Draws a random patient's plan: demographics, therapy sequence, a JAK course (or none), outcome
 * trajectories shaped by the trial figures in clinical-reference.md, visits, diaries, labs and noise.
 */
import type { JakDrug, OtherTherapy } from "./codes";
import type { CoursePlan, LabEvent, LabKind, MeasureKey, MedRepresentation, PatientPlan, ScoreEvent } from "./plan";
import { newPatientPlan, normalizeScores } from "./plan";
import { Rng } from "./prng";
import { DERMATOLOGIST_IDS } from "./shared";
import { DRUG_LABS } from "./expectations";
import { ageInYears } from "./dates";

export type ResponseClass = "responder" | "partial" | "non-responder";

/**
 * Share of responders (EASI-75 or IGA success at the drug's primary week), partial (EASI-50 to 75) and
 * non-responders. Upadacitinib: Measure Up 1/2 EASI-75 60-70 % (15 mg), 73-80 % (30 mg); abrocitinib:
 * JADE MONO EASI-75 40-45 % (100 mg), 61-63 % (200 mg); ruxolitinib cream: TRuE-AD IGA success 51-54 %;
 * baricitinib: no figure in the reference, assumed lower (BREEZE-AD EASI-75 about 25-30 % at 4 mg).
 */
export const RESPONSE_SHARES: Record<string, Record<ResponseClass, number>> = {
  "upadacitinib:15": { responder: 0.64, partial: 0.16, "non-responder": 0.2 },
  "upadacitinib:30": { responder: 0.75, partial: 0.12, "non-responder": 0.13 },
  "abrocitinib:100": { responder: 0.42, partial: 0.2, "non-responder": 0.38 },
  "abrocitinib:200": { responder: 0.62, partial: 0.15, "non-responder": 0.23 },
  "baricitinib:4": { responder: 0.3, partial: 0.25, "non-responder": 0.45 },
  "baricitinib:2": { responder: 0.22, partial: 0.23, "non-responder": 0.55 },
  "ruxolitinib-cream:1.5": { responder: 0.52, partial: 0.2, "non-responder": 0.28 },
};

/** Intended cohort mix (the distribution test checks these loosely). */
export const NO_JAK_SHARE = 0.12;
export const ADULT_DRUG_SHARES: Record<JakDrug, number> = { upadacitinib: 0.38, abrocitinib: 0.2, baricitinib: 0.1, "ruxolitinib-cream": 0.32 };
const ADOLESCENT_DRUG_SHARES: Record<JakDrug, number> = { upadacitinib: 0.45, abrocitinib: 0.2, baricitinib: 0, "ruxolitinib-cream": 0.35 };
export const ADOLESCENT_SHARE = 0.15;

const GIVEN_FEMALE = ["Amara", "Beatriz", "Chiara", "Dana", "Elif", "Fatima", "Greta", "Hana", "Ines", "Jun", "Kalani", "Lena", "Maya", "Noor", "Olga", "Paz", "Rina", "Sofia", "Tamsin", "Yara"];
const GIVEN_MALE = ["Aaron", "Bashir", "Caleb", "Dmitri", "Emeka", "Felix", "Goran", "Hiro", "Ivan", "Jonah", "Kofi", "Luca", "Mateo", "Nikhil", "Omar", "Pavel", "Rafael", "Soren", "Tariq", "Yusuf"];
const FAMILY = ["Abernathy", "Bergstrom", "Calloway", "Delacroix", "Ekwueme", "Fairbanks", "Galloway", "Haddad", "Ilves", "Jablonski", "Kowalczyk", "Lindgren", "Moreau", "Nakamura", "Oyelaran", "Petrov", "Quintero", "Rasmussen", "Szabo", "Thorne", "Umarov", "Varga", "Whitlock", "Xenakis", "Yilmaz", "Zielinski"];
const OFFSETS = ["-05:00", "-04:00", "-06:00", "-07:00", "-08:00", "+00:00", "+01:00"];

const YEAR = 365;

export function patientIdFor(index: number): string {
  return `pt-${String(index + 1).padStart(6, "0")}`;
}

interface Baseline {
  easi: number;
  iga: number;
  itch: number;
  pain: number;
  bsa: number;
  dlqi: number;
  poem: number;
  sleep: number;
}

/** One course's response: fraction of improvement at plateau and time constants (days). */
interface Segment {
  start: number;
  baseline: Baseline;
  easiFraction: number;
  itchFraction: number;
  painFraction: number;
  igaTarget: number;
  bsaTarget: number;
  easiTau: number;
  symptomTau: number;
}

function expected(segment: Segment, measure: MeasureKey, day: number): number {
  const t = day - segment.start;
  const b = segment.baseline;
  if (t <= 0) return b[measure];
  const slow = 1 - Math.exp(-t / segment.easiTau);
  const fast = 1 - Math.exp(-t / segment.symptomTau);
  switch (measure) {
    case "easi":
      return b.easi * (1 - segment.easiFraction * slow);
    case "iga":
      return b.iga - (b.iga - segment.igaTarget) * slow;
    case "bsa":
      return b.bsa + (segment.bsaTarget - b.bsa) * slow;
    case "itch":
      return b.itch * (1 - segment.itchFraction * fast);
    case "pain":
      return b.pain * (1 - segment.painFraction * fast);
    case "sleep":
      return b.sleep * (1 - segment.itchFraction * fast);
    case "dlqi":
      return b.dlqi * (1 - segment.easiFraction * 0.8 * slow);
    case "poem":
      return b.poem * (1 - segment.easiFraction * 0.8 * slow);
  }
}

const RANGES: Record<MeasureKey, [number, number]> = {
  easi: [0, 72],
  iga: [0, 4],
  bsa: [0, 100],
  itch: [0, 10],
  pain: [0, 10],
  sleep: [0, 10],
  dlqi: [0, 30],
  poem: [0, 28],
};
const NOISE_SD: Record<MeasureKey, number> = { easi: 1.2, iga: 0.25, bsa: 2, itch: 0.7, pain: 0.7, sleep: 0.8, dlqi: 1.5, poem: 1.5 };

function observed(rng: Rng, segments: Segment[], measure: MeasureKey, day: number): number {
  let segment = segments[0];
  for (const s of segments) if (s.start <= day) segment = s;
  if (!segment) throw new Error("no segment");
  const [min, max] = RANGES[measure];
  const raw = rng.normal(expected(segment, measure, day), NOISE_SD[measure]);
  const clamped = Math.min(max, Math.max(min, raw));
  return measure === "easi" ? Math.round(clamped * 10) / 10 : Math.round(clamped);
}

function drawBaseline(rng: Rng, topical: boolean): Baseline {
  const easi = topical ? rng.between(3, 16) : rng.between(16, 42);
  return {
    easi: Math.round(easi * 10) / 10,
    iga: topical ? (easi > 9 ? 3 : 2) : easi > 28 ? 4 : 3,
    itch: topical ? rng.int(4, 8) : rng.int(5, 9),
    pain: rng.int(2, 8),
    bsa: topical ? rng.int(3, 18) : rng.int(10, 60),
    dlqi: rng.int(8, 24),
    poem: rng.int(12, 26),
    sleep: rng.int(3, 8),
  };
}

function drawSegment(rng: Rng, start: number, baseline: Baseline, responseClass: ResponseClass, worsenBsa: boolean): Segment {
  const common = { start, baseline, easiTau: rng.between(18, 32) };
  switch (responseClass) {
    case "responder":
      return {
        ...common,
        easiFraction: rng.between(0.8, 0.97),
        itchFraction: rng.between(0.62, 0.9),
        painFraction: rng.between(0.6, 0.9),
        igaTarget: rng.int(0, 1),
        bsaTarget: Math.round(baseline.bsa * rng.between(0.05, 0.25)),
        symptomTau: rng.between(3, 7),
      };
    case "partial":
      return {
        ...common,
        easiFraction: rng.between(0.55, 0.72),
        itchFraction: rng.between(0.3, 0.5),
        painFraction: rng.between(0.25, 0.5),
        igaTarget: Math.max(0, baseline.iga - 1),
        bsaTarget: Math.round(baseline.bsa * rng.between(0.4, 0.6)),
        symptomTau: rng.between(8, 20),
      };
    case "non-responder":
      return {
        ...common,
        easiFraction: rng.between(-0.15, 0.28),
        itchFraction: rng.between(0, 0.18),
        painFraction: rng.between(0, 0.18),
        igaTarget: baseline.iga,
        bsaTarget: worsenBsa ? rng.int(23, 30) : Math.round(baseline.bsa * rng.between(0.85, 1.1)),
        symptomTau: rng.between(10, 20),
      };
  }
}

function strengthFor(rng: Rng, drug: JakDrug): string {
  switch (drug) {
    case "upadacitinib":
      return rng.chance(0.6) ? "15" : "30";
    case "abrocitinib":
      return rng.chance(0.5) ? "100" : "200";
    case "baricitinib":
      return rng.chance(0.8) ? "4" : "2";
    case "ruxolitinib-cream":
      return "1.5";
  }
}

const REPRESENTATION_SHARES: Record<MedRepresentation, number> = {
  "statement-codeable": 0.35,
  "request-bounds": 0.25,
  "request-authored": 0.12,
  "statement-contained": 0.1,
  "request-display": 0.08,
  "statement-local": 0.1,
};

/** Which measures this patient's clinic records at visits (clinics are consistent, not all record all). */
interface RecordingHabits {
  measures: MeasureKey[];
  localCodes: boolean;
  codedIga: boolean;
  integerValues: boolean;
}

function drawHabits(rng: Rng): RecordingHabits {
  const measures: MeasureKey[] = [];
  const shares: [MeasureKey, number][] = [
    ["easi", 0.85],
    ["iga", 0.9],
    ["bsa", 0.75],
    ["itch", 0.85],
    ["pain", 0.55],
    ["dlqi", 0.55],
    ["poem", 0.3],
    ["sleep", 0.25],
  ];
  for (const [measure, share] of shares) if (rng.chance(share)) measures.push(measure);
  return { measures, localCodes: rng.chance(0.18), codedIga: rng.chance(0.15), integerValues: rng.chance(0.35) };
}

export function drawRandomPlan(index: number, seed: number, asOfDay: number): PatientPlan {
  const rng = new Rng(seed, index * 2);
  const patientId = patientIdFor(index);
  const sex = rng.chance(0.52) ? "female" : "male";
  const adolescent = rng.chance(ADOLESCENT_SHARE);
  const ageYears = adolescent ? rng.int(12, 17) : rng.int(18, 74);
  const birthDay = asOfDay - ageYears * YEAR - rng.int(10, 355) - Math.floor(ageYears / 4);
  const offset = rng.pick(OFFSETS);
  const given = rng.pick(sex === "female" ? GIVEN_FEMALE : GIVEN_MALE);
  const family = rng.pick(FAMILY);
  const adOnsetDay = Math.min(birthDay + rng.int(120, 9 * YEAR), asOfDay - 3 * YEAR);
  const practitionerId = rng.pick(DERMATOLOGIST_IDS);
  const habits = drawHabits(rng);
  const plan: PatientPlan = newPatientPlan({ index, patientId, archetype: "no-jak", sex, birthDay, offset, given, family, adOnsetDay, practitionerId });
  const scores: ScoreEvent[] = [];
  const addScore = (day: number, measure: MeasureKey, value: number, source: "clinic" | "diary", minuteOfDay: number) => {
    if (day >= asOfDay) return;
    scores.push(makeScore(rng, habits, day, measure, value, source, minuteOfDay));
  };

  const panelRoll = rng.float();
  if (panelRoll < 0.08) plan.visitPanels = "components";
  else if (panelRoll < 0.16) plan.visitPanels = "hasMember";

  if (rng.chance(NO_JAK_SHARE)) {
    drawNoJak(rng, plan, habits, asOfDay, addScore);
    plan.scores = normalizeScores(scores);
    return plan;
  }

  const drug = rng.weighted(adolescent ? ADOLESCENT_DRUG_SHARES : ADULT_DRUG_SHARES);
  const strength = strengthFor(rng, drug);
  const startBucket = rng.weighted({ new: 0.12, early: 0.18, mid: 0.25, late: 0.3, long: 0.15 });
  const daysAgo = { new: rng.int(1, 21), early: rng.int(22, 60), mid: rng.int(61, 150), late: rng.int(151, 400), long: rng.int(401, 1000) }[startBucket];
  const start = asOfDay - daysAgo;
  const responseClass = rng.weighted(RESPONSE_SHARES[`${drug}:${strength}`] ?? RESPONSE_SHARES["upadacitinib:15"]!);
  plan.archetype = responseClass;
  const topical = drug === "ruxolitinib-cream";
  const baseline = drawBaseline(rng, topical);
  const segments: Segment[] = [drawSegment(rng, start, baseline, responseClass, topical && rng.chance(0.3))];
  const firstCourse: CoursePlan = {
    drug,
    doses: [{ startDay: start, endDay: null, strength }],
    representation: rng.weighted(REPRESENTATION_SHARES),
    ...(topical ? creamSupply(rng) : {}),
  };
  plan.courses.push(firstCourse);

  // Escalation (a dose change, annotated on the course, not a new course).
  const escalatable = (drug === "upadacitinib" && strength === "15") || (drug === "abrocitinib" && strength === "100");
  if (escalatable && responseClass !== "responder" && rng.chance(0.35)) {
    const escalationDay = start + (drug === "upadacitinib" ? 112 + rng.int(5, 30) : 84 + rng.int(5, 20));
    if (escalationDay < asOfDay - 1) {
      firstCourse.doses = [
        { startDay: start, endDay: escalationDay - 1, strength },
        { startDay: escalationDay, endDay: null, strength: drug === "upadacitinib" ? "30" : "200" },
      ];
      plan.archetype = `${responseClass}-escalated`;
    }
  }

  // Non-responders past week 16 switch to another JAK or stop.
  if (responseClass === "non-responder" && plan.archetype === "non-responder" && start + 150 < asOfDay) {
    const choice = rng.weighted({ switch: 0.45, stop: 0.2, continue: 0.35 });
    const stopDay = start + 141 + rng.int(0, 30);
    const switchDay = stopDay + rng.int(3, 14);
    // Both the stop and the next start must fall before asOf (nothing is dated on or after it).
    if (choice !== "continue" && switchDay < asOfDay - 1) {
      const lastDose = firstCourse.doses[firstCourse.doses.length - 1];
      if (lastDose) lastDose.endDay = stopDay;
      plan.archetype = choice === "switch" ? "switch" : "stopped";
      if (choice === "switch") {
        const nextStart = switchDay;
        const options: JakDrug[] = (["upadacitinib", "abrocitinib", "baricitinib"] as JakDrug[]).filter((d) => d !== drug && !(adolescent && d === "baricitinib"));
        const nextDrug = rng.pick(options);
        const nextStrength = strengthFor(rng, nextDrug);
        const nextClass = rng.weighted(RESPONSE_SHARES[`${nextDrug}:${nextStrength}`] ?? RESPONSE_SHARES["upadacitinib:15"]!);
        const carried = currentValues(segments, nextStart);
        segments.push(drawSegment(rng, nextStart, carried, nextClass, false));
        plan.courses.push({ drug: nextDrug, doses: [{ startDay: nextStart, endDay: null, strength: nextStrength }], representation: rng.weighted(REPRESENTATION_SHARES) });
      } else {
        // Some restart the same drug after more than 60 days off: a new course (clinical-reference 3).
        const restartDay = stopDay + rng.int(75, 150);
        if (rng.chance(0.4) && restartDay < asOfDay - 1) {
          plan.archetype = "restarted";
          const restartClass = rng.weighted(RESPONSE_SHARES[`${drug}:${strength}`] ?? RESPONSE_SHARES["upadacitinib:15"]!);
          segments.push(drawSegment(rng, restartDay, currentValues(segments, restartDay), restartClass, false));
          plan.courses.push({ drug, doses: [{ startDay: restartDay, endDay: null, strength }], representation: firstCourse.representation, ...(topical ? creamSupply(rng) : {}) });
        }
      }
    }
  }

  // A few responders pause for 2-6 weeks (at most 60 days off: still the same course).
  if (plan.archetype === "responder" && asOfDay - start > 240 && rng.chance(0.06)) {
    const pauseStart = start + rng.int(120, 180);
    const resumeDay = pauseStart + rng.int(14, 45);
    firstCourse.doses = [
      { startDay: start, endDay: pauseStart - 1, strength },
      { startDay: resumeDay, endDay: null, strength },
    ];
    plan.archetype = "responder-paused";
  }

  for (const course of plan.courses) drawDispenses(rng, course, asOfDay);
  drawPriorTherapies(rng, plan, start, !topical);
  drawVisitsAndDiaries(rng, plan, segments, habits, asOfDay, addScore);
  for (const course of plan.courses) drawLabs(rng, plan, course, asOfDay);
  drawVaccinations(rng, plan, start, asOfDay);
  plan.scores = normalizeScores(scores);
  keepBeforeAsOf(plan, asOfDay);
  return plan;
}

/** Nothing is dated on or after asOf, and every therapy period starts before it ends. */
function keepBeforeAsOf(plan: PatientPlan, asOfDay: number): void {
  plan.vaccinations = plan.vaccinations.filter((v) => v.day < asOfDay);
  for (const therapy of plan.otherTherapies) {
    if (therapy.endDay !== null && therapy.endDay <= therapy.startDay) therapy.startDay = therapy.endDay - 30;
    if (therapy.endDay !== null && therapy.endDay >= asOfDay) therapy.endDay = null;
  }
  plan.otherTherapies = plan.otherTherapies.filter((t) => t.startDay < asOfDay);
}

/** Pharmacy fills for some courses (30 % of cream courses, 10 % of oral ones), from the start day on. */
function drawDispenses(rng: Rng, course: CoursePlan, asOfDay: number): void {
  const cream = course.drug === "ruxolitinib-cream";
  if (!rng.chance(cream ? 0.3 : 0.1)) return;
  const start = course.doses[0]?.startDay ?? asOfDay;
  const end = course.doses[course.doses.length - 1]?.endDay ?? null;
  const interval = cream ? (course.creamSupplyDays ?? 14) : 30;
  // A stopped course's last fill runs out by the stop day, so supply never bridges a gap to a restart.
  const last = end === null ? asOfDay - 1 : Math.min(end - interval - 3, asOfDay - 1);
  const days: number[] = [];
  for (let day = start + rng.int(0, 1); day <= last && days.length < 8; day += interval + rng.int(0, 3)) days.push(day);
  if (days.length > 0) course.dispenseDays = days;
}

function creamSupply(rng: Rng): { creamGrams: number; creamSupplyDays: number } {
  return rng.chance(0.08) ? { creamGrams: 100, creamSupplyDays: 7 } : { creamGrams: 60, creamSupplyDays: rng.pick([14, 30]) };
}

function currentValues(segments: Segment[], day: number): Baseline {
  let segment = segments[0];
  for (const s of segments) if (s.start <= day) segment = s;
  if (!segment) throw new Error("no segment");
  const b: Baseline = { ...segment.baseline };
  for (const measure of Object.keys(b) as MeasureKey[]) {
    const value = expected(segment, measure, day);
    b[measure] = measure === "easi" ? Math.round(value * 10) / 10 : Math.round(value);
  }
  return b;
}

function makeScore(
  rng: Rng,
  habits: RecordingHabits,
  day: number,
  measure: MeasureKey,
  value: number,
  source: "clinic" | "diary",
  minuteOfDay: number,
): ScoreEvent {
  const coding = habits.localCodes && source === "clinic" ? "local" : measure === "pain" && rng.chance(0.25) ? "loinc-pain" : "app";
  let valueForm: ScoreEvent["valueForm"] = "quantity";
  if (measure === "iga" && habits.codedIga) valueForm = "coded";
  else if (Number.isInteger(value) && habits.integerValues) valueForm = "integer";
  else if (rng.chance(0.02)) valueForm = "string";
  const statusRoll = rng.float();
  const status = statusRoll < 0.04 ? "amended" : statusRoll < 0.05 ? "corrected" : "final";
  const score: ScoreEvent = { day, measure, value, source, coding, valueForm, status, minuteOfDay };
  if (source === "clinic" && rng.chance(0.004) && value * 10 > RANGES[measure][1]) score.outOfRangeTypo = true;
  if (rng.chance(0.025)) {
    const [min, max] = RANGES[measure];
    const shifted = value + (rng.chance(0.5) ? 1 : -1) * rng.int(3, 5);
    score.enteredInErrorValue = Math.min(max, Math.max(min, measure === "easi" ? Math.round(shifted * 10) / 10 : shifted));
  }
  return score;
}

function drawNoJak(
  rng: Rng,
  plan: PatientPlan,
  habits: RecordingHabits,
  asOfDay: number,
  addScore: (day: number, measure: MeasureKey, value: number, source: "clinic" | "diary", minute: number) => void,
): void {
  const firstVisit = asOfDay - rng.int(180, 720);
  plan.otherTherapies.push({ therapy: "triamcinolone", startDay: Math.max(plan.adOnsetDay, firstVisit - 2 * YEAR), endDay: null, resource: rng.chance(0.5) ? "statement" : "request" });
  if (rng.chance(0.6)) plan.otherTherapies.push({ therapy: "tacrolimus", startDay: firstVisit - rng.int(100, 400), endDay: null, resource: "statement" });
  if (rng.chance(0.55)) {
    const biologic: OtherTherapy = rng.chance(0.85) ? "dupilumab" : "tralokinumab";
    plan.otherTherapies.push({ therapy: biologic, startDay: firstVisit + rng.int(0, 60), endDay: null, resource: rng.chance(0.5) ? "statement" : "request" });
  }
  if (rng.chance(0.08)) plan.traps.push({ drug: rng.pick(["abrocitinib", "upadacitinib"] as JakDrug[]), kind: rng.chance(0.5) ? "not-taken" : "proposal", day: firstVisit + rng.int(10, 150) });
  const baseline = drawBaseline(rng, false);
  for (let day = firstVisit; day < asOfDay; day += rng.int(70, 110)) {
    const minute = rng.int(8 * 60, 16 * 60);
    for (const measure of habits.measures) {
      if (measure === "pain" || measure === "sleep") continue;
      const [min, max] = RANGES[measure];
      const scale = 0.55 + rng.float() * 0.3;
      const raw = Math.min(max, Math.max(min, baseline[measure] * scale));
      addScore(day, measure, measure === "easi" ? Math.round(raw * 10) / 10 : Math.round(raw), "clinic", minute);
    }
  }
  if (rng.chance(0.4)) plan.vaccinations.push({ day: asOfDay - rng.int(30, 400), vaccine: "influenza" });
  keepBeforeAsOf(plan, asOfDay);
}

function drawPriorTherapies(rng: Rng, plan: PatientPlan, start: number, oral: boolean): void {
  const tcsStart = Math.max(plan.adOnsetDay, start - rng.int(2, 6) * YEAR);
  const steroid: OtherTherapy = rng.weighted({ triamcinolone: 0.6, hydrocortisone: 0.2, clobetasol: 0.2 });
  plan.otherTherapies.push({ therapy: steroid, startDay: tcsStart, endDay: oral ? start - rng.int(0, 30) : null, resource: rng.chance(0.6) ? "statement" : "request" });
  if (rng.chance(0.7)) plan.otherTherapies.push({ therapy: "tacrolimus", startDay: tcsStart + rng.int(60, 400), endDay: start - rng.int(10, 120), resource: rng.chance(0.5) ? "statement" : "request" });
  else if (rng.chance(0.5)) plan.otherTherapies.push({ therapy: "pimecrolimus", startDay: tcsStart + rng.int(60, 400), endDay: start - rng.int(10, 120), resource: "statement" });
  if (oral && rng.chance(0.28)) {
    plan.otherTherapies.push({ therapy: rng.chance(0.85) ? "dupilumab" : "tralokinumab", startDay: start - rng.int(200, 600), endDay: start - rng.int(14, 60), resource: rng.chance(0.5) ? "statement" : "request" });
  }
}

function drawVisitsAndDiaries(
  rng: Rng,
  plan: PatientPlan,
  segments: Segment[],
  habits: RecordingHabits,
  asOfDay: number,
  addScore: (day: number, measure: MeasureKey, value: number, source: "clinic" | "diary", minute: number) => void,
): void {
  const visit = (day: number, measures: MeasureKey[], completeness: number) => {
    const minute = rng.int(8 * 60, 16 * 60 + 30);
    for (const measure of measures) if (rng.chance(completeness)) addScore(day, measure, observed(rng, segments, measure, day), "clinic", minute);
  };
  const first = segments[0];
  if (!first) return;
  // A couple of visits on topical therapy before the JAK (sequencing history).
  for (let k = rng.int(0, 3); k > 0; k--) visit(first.start - k * rng.int(90, 150), habits.measures.filter((m) => m === "easi" || m === "iga" || m === "itch"), 0.9);

  plan.courses.forEach((course, courseIndex) => {
    const segment = segments[courseIndex];
    if (!segment) return;
    const start = segment.start;
    const end = course.doses[course.doses.length - 1]?.endDay ?? asOfDay - 1;
    const last = Math.min(end, asOfDay - 1);
    // Baseline visit, in [start-30, start+3] by construction (week 0 for a switch is the switch visit).
    if (rng.chance(0.95)) visit(start - rng.int(0, 10), habits.measures, 0.97);
    if (rng.chance(0.35)) visit(start + 14 + rng.int(-3, 3), habits.measures.filter((m) => m === "itch" || m === "pain"), 0.95);
    const followUps: number[] = [28, 56, 84, 112];
    for (let d = 112 + 84; d < last - start + 1; d += 84) followUps.push(d);
    for (const target of followUps) {
      const day = start + target + rng.int(-5, 5);
      if (day > last || rng.chance(0.15)) continue;
      visit(day, habits.measures, 0.92);
    }
  });

  const diary = rng.weighted({ none: 0.55, daily: 0.3, weekly: 0.15 });
  if (diary === "none") return;
  const withPain = rng.chance(0.6);
  const diaryStart = first.start - 7;
  // Most daily diarists stop after week 16; the rest keep going (volume close to the design's 120 observations per patient).
  const diaryEnd = diary === "daily" && rng.chance(0.6) ? Math.min(first.start + 112, asOfDay - 1) : asOfDay - 1;
  const step = diary === "daily" ? 1 : 7;
  for (let day = diaryStart; day <= diaryEnd; day += step) {
    if (diary === "daily" && rng.chance(0.12)) continue;
    const minute = rng.int(19 * 60, 22 * 60 + 30);
    addScore(day, "itch", observed(rng, segments, "itch", day), "diary", minute);
    if (withPain) addScore(day, "pain", observed(rng, segments, "pain", day), "diary", minute + 1);
  }
}

function drawLabs(rng: Rng, plan: PatientPlan, course: CoursePlan, asOfDay: number): void {
  const start = course.doses[0]?.startDay;
  if (start === undefined) return;
  const end = course.doses[course.doses.length - 1]?.endDay ?? asOfDay - 1;
  const lastDay = Math.min(end, asOfDay - 1);
  const units = rng.chance(0.25) ? "si" : "us";
  const add = (day: number, kind: LabKind, extra: Partial<LabEvent> = {}) => {
    if (day > lastDay && day >= start) return;
    if (day >= asOfDay) return;
    plan.labs.push({ day, kind, minuteOfDay: rng.int(7 * 60 + 30, 11 * 60), units, withPanel: kind === "cbc" && rng.chance(0.4), enteredInErrorDuplicate: kind === "cbc" && rng.chance(0.02), ...extra });
  };
  const requirements = DRUG_LABS[course.drug];
  const baselineDay = start - rng.int(3, 25);
  const presence: Record<LabKind, number> = { "tb-screen": 0.88, "hbv-screen": 0.93, "hcv-screen": 0.93, cbc: 0.96, liver: 0.95, lipids: 0.93, pregnancy: 0.85 };
  for (const kind of requirements.baseline) {
    if (kind === "pregnancy") {
      const age = ageInYears(plan.birthDay, start);
      if (plan.sex !== "female" || age < 12 || age > 50) continue;
    }
    if (rng.chance(presence[kind])) add(baselineDay, kind);
  }
  if (course.drug === "ruxolitinib-cream" && rng.chance(0.3)) add(baselineDay, "tb-screen");
  if (course.drug === "abrocitinib") {
    const day = start + 28 + rng.int(-8, 10);
    if (rng.chance(0.82)) add(day, "cbc");
    if (rng.chance(0.8)) add(day, "lipids");
  }
  if (requirements["week-12"].includes("lipids") && rng.chance(0.78)) add(start + 84 + rng.int(-20, 20), "lipids");
  if (course.drug !== "ruxolitinib-cream") {
    for (let d = 112 + 84; start + d <= lastDay; d += 84) {
      if (rng.chance(0.85)) add(start + d + rng.int(-14, 14), "cbc");
      if (course.drug !== "abrocitinib" && rng.chance(0.85)) add(start + d + rng.int(-14, 14), "liver");
    }
    // An occasional low neutrophil count on treatment.
    if (lastDay - start > 30 && rng.chance(0.025)) add(start + rng.int(21, Math.min(lastDay - start, 200)), "cbc", { lowNeutrophils: true });
  }
}

function drawVaccinations(rng: Rng, plan: PatientPlan, start: number, asOfDay: number): void {
  if (rng.chance(0.45)) {
    const first = start - rng.int(90, 240);
    plan.vaccinations.push({ day: first, vaccine: "zosterRecombinant" }, { day: first + rng.int(60, 120), vaccine: "zosterRecombinant" });
  }
  if (rng.chance(0.5)) plan.vaccinations.push({ day: asOfDay - rng.int(20, 300), vaccine: "influenza" });
  // Rarely, a live zoster vaccine during an oral JAK course (which the label advises against).
  const oral = plan.courses.find((c) => c.drug !== "ruxolitinib-cream");
  const oralStart = oral?.doses[0]?.startDay ?? asOfDay;
  const oralEnd = Math.min(oral?.doses[oral.doses.length - 1]?.endDay ?? asOfDay - 1, asOfDay - 1);
  if (rng.chance(0.01) && oralEnd - oralStart > 40) plan.vaccinations.push({ day: oralStart + rng.int(30, oralEnd - oralStart), vaccine: "zosterLive" });
  if (rng.chance(0.2)) plan.vaccinations.push({ day: asOfDay - rng.int(100, 700), vaccine: "covid" });
  plan.vaccinations.sort((a, b) => a.day - b.day);
}
