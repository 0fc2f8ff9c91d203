import { describe, expect, it } from "vitest";
import { buildSummaryText } from "./summary-text";
import { MEASURE_UP_URL, patientView, RINVOQ_LABEL_URL, upadacitinibNonResponderEvaluation } from "./fixtures.test-helper";

describe("note summary", () => {
  it("leads with patient, current course and week, then checkpoints, labs and flags with their sources", () => {
    const text = buildSummaryText(patientView());
    const lines = text.split("\n");
    expect(lines[0]).toContain("as of 2026-11-01");
    expect(lines[1]).toBe("Patient: Ada Example, 36 y, female");
    expect(text).toContain("Current JAK course: Upadacitinib (Rinvoq) oral 30 mg, since 2026-06-01 (start from MedicationRequest/mr1), week 21 today.");
    expect(text).toContain("Dose change 2026-08-01: 15 mg -> 30 mg");
    expect(text).toContain("Earlier JAK courses: Abrocitinib (Cibinqo) oral 100 mg, 2025-01-10 to 2025-06-01");
    expect(text).toContain("- Week 16 (2026-09-08 to 2026-10-19): not responded. EASI 24 -> 16, 8 better (33%): easi-50 not met");
    expect(text).not.toContain("Week 24");
    expect(text).toContain("- overdue: Week-12: Lipids (due by 2026-09-21)".replace("Week-12", "Week 12"));
    expect(text).toContain("- missing: Baseline: TB screen (due by 2026-06-04)");
    expect(text).toContain("- abnormal (critical): Absolute neutrophil count 0.8");
    // A done requirement with an abnormal value lists that draw's values; one without stays a name.
    expect(text).toContain("- done: Baseline: CBC (2026-06-01: Hemoglobin 13.2 g/dL, ANC 0.8 x10*3/uL (abnormal: < 1 x10*3/uL), Platelets 210 x10*3/uL); Baseline: Liver enzymes (ALT, AST)\n");
    // Each flag cites its source label with the link in parentheses, abnormal results included.
    expect(text).toContain(`[warning] Not responded on upadacitinib at week 16. (rule upadacitinib.week-16.non-response; source: Measure Up 1/2 (Guttman-Yassky et al., Lancet 2021) (${MEASURE_UP_URL}))`);
    expect(text).toContain(`is below 1.0. (rule abnormal.anc-low; source: Rinvoq (upadacitinib) US Prescribing Information, section 5.8 (${RINVOQ_LABEL_URL}))`);
    expect(text).toContain("- dupilumab (Biologic): 2024-10-01 to 2025-01-01");
    expect(text).toContain("- Itch NRS: baseline 8 (2026-05-28), latest 6 (2026-09-20), 2 better");
    expect(text).not.toContain("CAUTION");
  });

  it("writes a measure without a value by its status only, and lists JAK courses once", () => {
    const evaluation = upadacitinibNonResponderEvaluation();
    evaluation.courses[1]!.checkpoints[2] = {
      week: 24,
      windowStart: "2026-10-20",
      windowEnd: "2026-12-14",
      verdict: "open",
      measures: { easi: { criterion: "easi-50", status: "no-value", baseline: 24, value: null, improvement: null } },
    };
    evaluation.therapyHistory!.push({ therapyClass: "jak-ad", name: "upadacitinib", route: "oral", start: "2026-06-01", end: null, resources: [] });
    evaluation.therapyHistory!.push({ therapyClass: "phototherapy", name: "phototherapy", route: null, start: "2023-01-01", end: "2023-03-01", resources: [] });
    const text = buildSummaryText(patientView(evaluation));
    expect(text).toContain("- Week 24 (2026-10-20 to 2026-12-14): window open. EASI: no value in window");
    expect(text).not.toMatch(/- upadacitinib \(JAK/);
    expect(text).toContain("- Phototherapy: 2023-01-01 to 2023-03-01");
  });

  it("cites a flag without a link (stored before sources had links) by its citation text", () => {
    const evaluation = upadacitinibNonResponderEvaluation();
    evaluation.flags[0] = { ...evaluation.flags[0]!, sourceLabel: "", sourceUrl: "" };
    const text = buildSummaryText(patientView(evaluation));
    expect(text).toContain("(rule upadacitinib.week-16.non-response; source: Measure Up 1/2 primary endpoint at week 16)");
  });

  it("warns when the data is incomplete", () => {
    const view = patientView(undefined, {
      fetch: { partial: true, failures: [{ search: "Observation?category=laboratory", status: 503, message: "Service Unavailable" }], requests: 9, bytes: 1, ms: 1, resourceCounts: {} },
    });
    expect(buildSummaryText(view)).toContain("CAUTION: incomplete data, 1 EHR search(es) failed: Observation?category=laboratory");
  });

  it("says plainly when no JAK course was found", () => {
    const evaluation = { ...upadacitinibNonResponderEvaluation(), courses: [], flags: [] };
    const text = buildSummaryText(patientView(evaluation));
    expect(text).toContain("JAK course: none found in the record.");
    expect(text).not.toContain("Checkpoints:");
    expect(text).toContain("Prior and concurrent therapy:");
  });
});
