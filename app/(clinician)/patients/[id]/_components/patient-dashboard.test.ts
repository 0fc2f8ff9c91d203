import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { MEASURE_UP_URL, patientView, RINVOQ_LABEL_URL, upadacitinibNonResponderEvaluation } from "@/lib/patient-view/fixtures.test-helper";
import { PatientViewRequestError } from "@/lib/patient-view/patient-view-query";
import { PatientDashboard } from "./patient-dashboard";
import { PatientViewError } from "./patient-view-error";

const render = (view = patientView()) => renderToStaticMarkup(createElement(PatientDashboard, { view }));

/** The text of the <section> whose heading has this id prefix, tags stripped. */
function sectionText(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`);
  expect(start, `section ${id}`).toBeGreaterThanOrEqual(0);
  const end = html.indexOf("</section>", start);
  return html.slice(start, end).replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
}

describe("patient dashboard", () => {
  it("names the patient and every region by its heading", () => {
    const html = render();
    expect(html).toMatch(/<h1[^>]*>Ada Example<\/h1>/);
    for (const [id, title] of [
      ["current-course", "Current JAK course"],
      ["trends", "Trends"],
      ["checkpoints", "Checkpoints"],
      ["safety-labs", "Safety labs"],
      ["therapy-history", "Therapy history"],
      ["data-quality", "Data quality"],
    ]) {
      expect(html).toContain(`aria-labelledby="${id}-heading"`);
      expect(html).toContain(`<h2 id="${id}-heading" class="text-lg font-semibold text-slate-900">${title}</h2>`);
    }
  });

  it("puts course, week, latest verdict and labs needing action in the first region", () => {
    const text = sectionText(render(), "current-course");
    expect(text).toContain("Upadacitinib (Rinvoq)");
    expect(text).toContain("Week 21");
    expect(text).toContain("MedicationRequest/mr1");
    expect(text).toContain("Week 16 ✗ not responded");
    expect(text).toContain("overdue Week 12: Lipids");
    expect(text).toContain("Absolute neutrophil count 0.8");
    expect(text).toContain("Earlier JAK courses");
  });

  it("shows each checkpoint's verdict with its rule id and source, and each lab's status", () => {
    const html = render();
    const checkpoints = sectionText(html, "checkpoints");
    expect(checkpoints).toContain("not responded");
    expect(checkpoints).toContain("upadacitinib.week-16.non-response");
    expect(checkpoints).toContain("Measure Up 1/2 (Guttman-Yassky et al., Lancet 2021)");
    expect(checkpoints).toContain("upadacitinib.week-2.early-signal");
    const labs = sectionText(html, "safety-labs");
    expect(labs).toContain("overdue");
    expect(labs).toContain("missing");
    expect(labs).toContain("abnormal");
    expect(labs).toContain("abnormal.anc-low");
    // The missing requirement's flag shows on its row with rule id and source.
    expect(labs).toContain("No baseline TB screen on record.");
    expect(labs).toContain("labs.baseline-missing");
    expect(sectionText(html, "current-course")).toContain("abnormal.anc-low");
  });

  it("links each flag's source label to its page in a new tab, with the citation as its title", () => {
    const html = render();
    const links = [...html.matchAll(/<a [^>]*data-testid="rule-source"[^>]*>(.*?)<\/a>/g)];
    expect(links.length).toBeGreaterThanOrEqual(3);
    for (const [tag] of links) {
      expect(tag).toContain('target="_blank"');
      expect(tag).toContain('rel="noopener noreferrer"');
      expect(tag).toMatch(/href="https:\/\//);
    }
    const measureUp = links.find(([, text]) => text!.startsWith("Measure Up 1/2 (Guttman-Yassky et al., Lancet 2021)"));
    expect(measureUp?.[0]).toContain(`href="${MEASURE_UP_URL}"`);
    expect(measureUp?.[0]).toContain('title="Measure Up 1/2 primary endpoint at week 16"');
    const labs = html.slice(html.indexOf('<section id="safety-labs"'), html.indexOf("</section>", html.indexOf('<section id="safety-labs"')));
    expect(labs).toContain(`href="${RINVOQ_LABEL_URL}"`);
    expect(labs).toContain("Rinvoq (upadacitinib) US Prescribing Information, section 5.1");
  });

  it("shows a flag stored without a link by its citation text, with no empty link", () => {
    const evaluation = upadacitinibNonResponderEvaluation();
    evaluation.flags[1] = { ...evaluation.flags[1]!, sourceLabel: "", sourceUrl: "" };
    const labs = sectionText(render(patientView(evaluation)), "safety-labs");
    expect(labs).toContain("Rinvoq US Prescribing Information sections 2 and 5.1");
    expect(render(patientView(evaluation))).not.toContain('href=""');
  });

  it("shows each satisfying value with unit and date, and an abnormal one with symbol, words, threshold and rule", () => {
    const html = render();
    const labs = sectionText(html, "safety-labs");
    expect(labs).toContain("Hemoglobin 13.2 g/dL on 1 Jun 2026");
    expect(labs).toContain("ALT 32 U/L on 28 May 2026 (upper limit 40 U/L)");
    expect(labs).toContain("ANC 0.8 x10*3/uL on 1 Jun 2026");
    expect(labs).toContain("Abnormal (critical): threshold &lt; 1 x10*3/uL · rule abnormal.anc-low");
    const values = [...html.matchAll(/<li data-testid="lab-value"[^>]*>(.*?)<\/li>/g)];
    expect(values).toHaveLength(4);
    const abnormal = values.filter((m) => m[0].includes('data-abnormal="true"'));
    expect(abnormal).toHaveLength(1);
    // Not colour alone: a hidden symbol, the word and the threshold in text.
    expect(abnormal[0]![1]).toContain('<span aria-hidden="true">‼ </span>ANC 0.8 x10*3/uL');
    const cbcRow = html.slice(html.lastIndexOf("<tr", html.indexOf("Baseline: CBC", html.indexOf('id="safety-labs"'))), html.indexOf("</tr>", html.indexOf("Baseline: CBC", html.indexOf('id="safety-labs"'))));
    expect(cbcRow).toContain("bg-red-50");
    expect(cbcRow).toContain("abnormal");
  });

  it("highlights a row from its abnormal value even without a matching flag, and falls back to resource ids", () => {
    const evaluation = upadacitinibNonResponderEvaluation();
    evaluation.flags = evaluation.flags.filter((f) => f.kind !== "abnormal-lab");
    evaluation.courses[1]!.labs.push({ requirement: "week-12:lipids", status: "done", dueBy: "2026-08-24", satisfiedBy: ["Observation/lip1"] });
    const html = render(patientView(evaluation));
    const labs = sectionText(html, "safety-labs");
    expect(labs).toContain("Observation/lip1");
    expect(labs).toContain("Abnormal (critical): threshold &lt; 1 x10*3/uL");
    const row = html.slice(html.lastIndexOf("<tr", html.indexOf("ANC 0.8")), html.indexOf("ANC 0.8"));
    expect(row).toContain("bg-red-50");
  });

  it("folds the flags of earlier courses away from the current course's flags", () => {
    const evaluation = upadacitinibNonResponderEvaluation();
    evaluation.flags.push({
      ruleId: "abrocitinib.week-12.non-response", kind: "non-response", severity: "info", message: "Not responded on abrocitinib at week 12.", source: "Cibinqo US Prescribing Information section 2.2", course: 0, week: 12,
      sourceLabel: "Cibinqo (abrocitinib) US Prescribing Information, section 2.2", sourceUrl: "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=16c12a56-4550-414b-ac9d-b785b41fea6b",
    });
    const html = render(patientView(evaluation));
    const flags = sectionText(html, "flags");
    expect(flags).toContain("Flags from earlier JAK courses (1)");
    expect(html.indexOf("upadacitinib.week-16.non-response")).toBeLessThan(html.indexOf("Flags from earlier JAK courses"));
    expect(sectionText(html, "checkpoints")).not.toContain("abrocitinib.week-12");
  });

  it("lists text-only code matches and ignored data", () => {
    const text = sectionText(render(), "data-quality");
    expect(text).toContain("Matched by text only (1)");
    expect(text).toContain("Peak pruritus score");
    expect(text).toContain("entered-in-error");
  });

  it("raises an alert banner only when data is partial", () => {
    expect(render()).not.toContain('role="alert"');
    const partial = patientView(undefined, {
      fetch: { partial: true, failures: [{ search: "Immunization", status: 503, message: "Service Unavailable" }], requests: 3, bytes: 0, ms: 5, resourceCounts: {} },
    });
    const html = render(partial);
    expect(html).toMatch(/<div role="alert"[^>]*>.*Incomplete data: 1 EHR search failed/);
  });

  it("says when no JAK course is found and still shows what was found", () => {
    const html = render(patientView({ ...upadacitinibNonResponderEvaluation(), courses: [], flags: [] }));
    const text = sectionText(html, "current-course");
    expect(text).toContain("No JAK inhibitor course found in this record.");
    expect(text).toContain("Itch NRS (4)");
    expect(text).toContain("dupilumab (Biologic)");
    expect(sectionText(html, "checkpoints")).toContain("No JAK course, so no checkpoints.");
  });
});

describe("patient view errors", () => {
  const renderError = (error: Error) => renderToStaticMarkup(createElement(PatientViewError, { error, onRetry: () => undefined }));

  it("sends an expired session to relaunch", () => {
    const html = renderError(new PatientViewRequestError(401, "session-expired", "expired", "/relaunch?reason=session-expired"));
    expect(html).toContain("Your session has ended");
    expect(html).toContain('href="/relaunch?reason=session-expired"');
  });

  it("refuses another patient's id plainly, without a retry", () => {
    const html = renderError(new PatientViewRequestError(403, "patient-not-in-context", "no"));
    expect(html).toContain("Refused: this is not the patient in your EHR session");
    expect(html).not.toContain("Try again");
  });

  it("offers a retry for other failures", () => {
    expect(renderError(new PatientViewRequestError(502, "fhir-unavailable", "down"))).toContain("The EHR did not answer");
    expect(renderError(new Error("boom"))).toContain("Try again");
  });
});
