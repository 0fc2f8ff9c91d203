/**
 * Table-driven: every fixture in ./fixtures is named by its expected outcome (grammar in
 * fixtures/scenarios.ts); this test evaluates each Bundle at its timestamp and asserts that outcome.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluatePatient } from "./evaluate";
import { scenarios, toBundle } from "./fixtures/scenarios";
import type { PatientEvaluation } from "./types";

const dir = join(import.meta.dirname, "fixtures");
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();

type Expectation =
  | { kind: "verdict"; week: number; verdict: string }
  | { kind: "lab"; requirement: string; status: string }
  | { kind: "flag"; flagKind: string; present: boolean }
  | { kind: "courses"; count: number }
  | { kind: "dq"; issue: string };

const FLAG_KINDS = "non-response|early-signal|missing-lab|overdue-lab|abnormal-lab|bsa-limit|cream-quantity|vaccination|data-quality";
const LABS = "tb-screen|hbv-screen|hcv-screen|cbc|liver|lipids|pregnancy";

export function expectationFromName(name: string): Expectation | null {
  const base = name.replace(/\.json$/, "");
  let m = /-week(\d+)-(responded|not-responded|not-assessable|open|not-due)$/.exec(base);
  if (m) return { kind: "verdict", week: Number(m[1]), verdict: m[2]! };
  m = new RegExp(`-(baseline|week-4|week-12|periodic)-(${LABS})-(done|due|overdue|missing|not-due)$`).exec(base);
  if (m) return { kind: "lab", requirement: `${m[1]}:${m[2]}`, status: m[3]! };
  m = new RegExp(`-(no-)?flag-(${FLAG_KINDS})$`).exec(base);
  if (m) return { kind: "flag", flagKind: m[2]!, present: m[1] === undefined };
  m = /-courses-(\d+)$/.exec(base);
  if (m) return { kind: "courses", count: Number(m[1]) };
  m = /-dq-([a-z-]+)$/.exec(base);
  if (m) return { kind: "dq", issue: m[1]! };
  return null;
}

function evaluateFixture(file: string): PatientEvaluation {
  const bundle = JSON.parse(readFileSync(join(dir, file), "utf8")) as { timestamp: string };
  return evaluatePatient([bundle], { asOf: bundle.timestamp.slice(0, 10) });
}

describe("outcome-named fixtures", () => {
  it("exist and every name states an outcome", () => {
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) expect(expectationFromName(f), f).not.toBeNull();
  });

  it("are up to date with fixtures/scenarios.ts", () => {
    const generated = new Map(scenarios().map((s) => [`${s.name}.json`, `${JSON.stringify(toBundle(s), null, 2)}\n`]));
    expect([...generated.keys()].sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(dir, f), "utf8"), f).toBe(generated.get(f));
  });

  it.each(files)("%s", (file) => {
    const expectation = expectationFromName(file)!;
    const result = evaluateFixture(file);
    switch (expectation.kind) {
      case "verdict": {
        const checkpoint = result.courses[0]?.checkpoints.find((c) => c.week === expectation.week);
        expect(checkpoint, JSON.stringify(result.courses)).toBeDefined();
        expect(checkpoint!.verdict, JSON.stringify(checkpoint)).toBe(expectation.verdict);
        break;
      }
      case "lab": {
        const lab = result.courses[0]?.labs.find((l) => l.requirement === expectation.requirement);
        expect(lab, JSON.stringify(result.courses[0]?.labs)).toBeDefined();
        expect(lab!.status, JSON.stringify(lab)).toBe(expectation.status);
        if (expectation.status === "done") expect(lab!.satisfiedBy?.length).toBeGreaterThan(0);
        break;
      }
      case "flag": {
        const kinds = result.flags.map((f) => f.kind);
        if (expectation.present) expect(kinds, JSON.stringify(result.flags)).toContain(expectation.flagKind);
        else expect(kinds, JSON.stringify(result.flags)).not.toContain(expectation.flagKind);
        break;
      }
      case "courses":
        expect(result.courses.length, JSON.stringify(result.courses)).toBe(expectation.count);
        break;
      case "dq":
        expect(result.dataQuality.map((n) => n.issue), JSON.stringify(result.dataQuality)).toContain(expectation.issue);
        break;
    }
  });
});

describe("details the names do not carry", () => {
  it("records which resource set the course start", () => {
    const r = evaluateFixture("upadacitinib-easi75-week16-responded.json");
    expect(r.courses[0]!.startSource).toMatch(/^MedicationStatement\//);
    expect(r.courses[0]!.start).toBe("2026-03-02");
    const w16 = r.courses[0]!.checkpoints.find((c) => c.week === 16)!;
    expect(w16.measures.easi).toMatchObject({ criterion: "easi-50", status: "met", baseline: 24, value: 5, improvement: 19, band: "EASI-75" });
    expect(w16.windowStart).toBe("2026-06-09"); // start + 99
    expect(w16.windowEnd).toBe("2026-07-20"); // start + 140
  });

  it("annotates a dose change without starting a new course", () => {
    const r = evaluateFixture("upadacitinib-dose-change-15-to-30-courses-1.json");
    expect(r.courses[0]!.doseChanges).toEqual([expect.objectContaining({ fromMg: 15, toMg: 30 })]);
  });

  it("ends the first course the day the switch starts", () => {
    const r = evaluateFixture("upadacitinib-switch-to-abrocitinib-courses-2.json");
    expect(r.courses.map((c) => [c.drug, c.start, c.end])).toEqual([
      ["upadacitinib", "2026-03-02", "2026-05-01"],
      ["abrocitinib", "2026-05-01", null],
    ]);
  });

  it("uses the weekly mean of a daily itch diary", () => {
    const r = evaluateFixture("upadacitinib-itch-diary-mean-week4-responded.json");
    const itch = r.courses[0]!.checkpoints.find((c) => c.week === 4)!.measures.itch!;
    expect(itch).toMatchObject({ baseline: 8, value: 3.57, baselineFrom: "diary-mean", valueFrom: "diary-mean", status: "met" });
  });

  it("flags each abnormal result with the triggering resource and a critical severity", () => {
    const r = evaluateFixture("upadacitinib-anc-800-per-mm3-flag-abnormal-lab.json");
    const flag = r.flags.find((f) => f.kind === "abnormal-lab")!;
    expect(flag).toMatchObject({ ruleId: "abnormal.anc-low", severity: "critical", course: 0 });
    expect(flag.resource).toMatch(/^Observation\//);
    expect(flag.message).toContain("0.8");
    // The upadacitinib course's flag links the Rinvoq US label on DailyMed, the label section named in its citation.
    expect(flag.source).toContain("Rinvoq US Prescribing Information");
    expect(flag.sourceLabel).toContain("Rinvoq (upadacitinib) US Prescribing Information");
    expect(flag.sourceUrl).toBe("https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=2966aec7-2ef0-923c-d8ff-fe1a957bf095");
  });

  it("marks generic pain severity as not skin pain in the code matches", () => {
    const r = evaluateFixture("upadacitinib-generic-pain-not-skin-week2-not-assessable.json");
    expect(r.codeMatches).toContainEqual(expect.objectContaining({ code: "72514-3", concept: null, note: "generic pain severity, not skin pain" }));
    expect(r.trends?.pain).toBeUndefined();
  });

  it("records how each code matched", () => {
    const r = evaluateFixture("upadacitinib-text-only-codes-week16-responded.json");
    expect(r.codeMatches).toContainEqual(expect.objectContaining({ concept: "measure:easi", how: "text" }));
    expect(r.codeMatches).toContainEqual(expect.objectContaining({ concept: "lab:hemoglobin", how: "system-code" }));
  });

  it("shows superseded same-day values as excluded points in the trend", () => {
    const r = evaluateFixture("upadacitinib-same-day-latest-issued-good-week16-responded.json");
    const points = r.trends!.easi!.points.filter((p) => p.date === "2026-06-22");
    expect(points).toEqual(expect.arrayContaining([
      expect.objectContaining({ value: 18, excluded: true, reason: "superseded-same-day" }),
      expect.objectContaining({ value: 4, excluded: false }),
    ]));
  });
});

describe("courses and history details", () => {
  it("takes the start from boundsPeriod.start over authoredOn and names that resource", () => {
    const r = evaluateFixture("upadacitinib-bounds-period-start-courses-1.json");
    expect(r.courses[0]).toMatchObject({ start: "2026-03-02", startSource: expect.stringMatching(/^MedicationRequest\//) });
  });

  it("ends a stopped course at its period end and does not attribute later data to it", () => {
    const r = evaluateFixture("upadacitinib-stopped-at-week6-week16-not-assessable.json");
    expect(r.courses[0]!.end).toBe("2026-04-13");
    expect(r.courses[0]!.weekAtAsOf).toBeNull();
    expect(r.courses[0]!.labs.map((l) => l.requirement)).not.toContain("week-12:lipids");
  });

  it("builds the prior-therapy timeline with route deciding tacrolimus", () => {
    const r = evaluateFixture("upadacitinib-with-prior-therapies-courses-1.json");
    expect(r.therapyHistory!.map((t) => [t.therapyClass, t.name])).toEqual([
      ["topical-calcineurin-inhibitor", "tacrolimus"],
      ["systemic-immunosuppressant", "tacrolimus"],
      ["phototherapy", "phototherapy"],
      ["topical-corticosteroid", "topical corticosteroid"],
      ["biologic", "dupilumab"],
      ["jak-ad", "upadacitinib"],
    ]);
  });

  it("gives panel members without subject or date the panel's", () => {
    const r = evaluateFixture("upadacitinib-panel-members-without-subject-week16-responded.json");
    expect(r.trends!.easi!.points.map((p) => [p.date, p.value])).toEqual([["2026-02-25", 24], ["2026-06-22", 6]]);
  });
});
