/** The note-ready plain-text summary behind "Copy summary": short lines a clinician pastes into the chart. */
import type { CourseEvaluation, Flag, PatientEvaluation } from "../clinical/types";
import type { PatientViewResponse } from "../fhir/patient-record-types";
import {
  CHECKPOINT_MEASURE_ORDER,
  DRUG_LABELS,
  formatAge,
  formatDose,
  formatImprovement,
  formatNumber,
  labStatusLabel,
  labValueText,
  MEASURE_INFO,
  measureStatusLabel,
  requirementLabel,
  sexLabel,
  therapyClassLabel,
  TREND_ORDER,
  verdictLabel,
} from "./format";
import { abnormalResults, currentCourse, earlierCourses, flagsForCourse, labAttention, sortFlagsBySeverity } from "./overview";

type LabRequirement = CourseEvaluation["labs"][number];

/**
 * A done requirement; when one of its values breaks a threshold, the values of that draw follow so the
 * note shows the abnormal one in context: "Baseline: CBC (2026-05-28: Hemoglobin 13.2 g/dL, ANC 0.8
 * x10*3/uL (abnormal: < 1 x10*3/uL))".
 */
function doneLabText(l: LabRequirement): string {
  const label = requirementLabel(l.requirement, l.occurrence);
  if (abnormalResults(l).length === 0) return label;
  const byDate = new Map<string, string[]>();
  for (const r of l.results ?? []) {
    const text = r.abnormal ? `${labValueText(r)} (abnormal: ${r.abnormal.threshold})` : labValueText(r);
    const list = byDate.get(r.date);
    if (list) list.push(text);
    else byDate.set(r.date, [text]);
  }
  return `${label} (${[...byDate].map(([date, values]) => `${date}: ${values.join(", ")}`).join("; ")})`;
}

/** A flag's source as the note cites it: the label with its link in parentheses (the citation when there is no link). */
function sourceText(f: Flag): string {
  return f.sourceUrl ? `${f.sourceLabel} (${f.sourceUrl})` : f.source;
}

function courseLine(course: CourseEvaluation): string {
  const dose = formatDose(course.doseMg);
  const parts = [DRUG_LABELS[course.drug] ?? course.drug, course.route, dose].filter(Boolean).join(" ");
  const period = course.end ? `${course.start} to ${course.end}` : `since ${course.start}`;
  return `${parts}, ${period} (start from ${course.startSource})`;
}

function checkpointLines(course: CourseEvaluation): string[] {
  return [...course.checkpoints]
    .sort((a, b) => a.week - b.week)
    .filter((c) => c.verdict !== "not-due")
    .map((c) => {
      const measures = CHECKPOINT_MEASURE_ORDER.flatMap((key) => {
        const m = c.measures[key];
        if (!m) return [];
        const label = MEASURE_INFO[key].label;
        // Only a measure with both numbers has a change worth writing; otherwise its status says why not.
        if (m.baseline === null || m.value === null) return [`${label}: ${measureStatusLabel(m.status)}`];
        return [`${label} ${formatNumber(m.baseline)} -> ${formatNumber(m.value)}, ${formatImprovement(m.improvement, m.percentImprovement)}: ${m.criterion} ${measureStatusLabel(m.status)}`];
      });
      const detail = measures.length > 0 ? `. ${measures.join("; ")}` : "";
      return `- Week ${c.week} (${c.windowStart} to ${c.windowEnd}): ${verdictLabel(c.verdict)}${detail}`;
    });
}

function trendLines(evaluation: PatientEvaluation): string[] {
  const trends = evaluation.trends ?? {};
  return TREND_ORDER.flatMap((key) => {
    const t = trends[key];
    if (!t || !t.latest) return [];
    const label = MEASURE_INFO[key].label;
    const base = t.baseline ? `baseline ${formatNumber(t.baseline.value)} (${t.baseline.date})` : "no baseline";
    const change = t.baseline ? `, ${formatImprovement(t.baseline.value - t.latest.value, key === "easi" && t.baseline.value > 0 ? ((t.baseline.value - t.latest.value) / t.baseline.value) * 100 : null)}` : "";
    return [`- ${label}: ${base}, latest ${formatNumber(t.latest.value)} (${t.latest.date})${change}`];
  });
}

/** Builds the plain-text summary; every line is self-explanatory without the app. */
export function buildSummaryText(view: PatientViewResponse): string {
  const { patient, evaluation, asOf } = view;
  const lines: string[] = [];
  lines.push(`Atopic dermatitis on JAK inhibitor: monitoring summary as of ${asOf} (Eczema JAK Monitor, rules ${view.rulesVersion})`);
  lines.push(`Patient: ${patient.name ?? "name not recorded"}, ${formatAge(patient.age)}, ${sexLabel(patient.sex)}`);
  if (view.fetch.partial) {
    lines.push(`CAUTION: incomplete data, ${view.fetch.failures.length} EHR search(es) failed: ${view.fetch.failures.map((f) => f.search).join(", ")}`);
  }

  const current = currentCourse(evaluation, asOf);
  lines.push("");
  if (!current) {
    lines.push("JAK course: none found in the record.");
  } else if (current.active) {
    lines.push(`Current JAK course: ${courseLine(current.course)}, week ${current.weekToday} today.`);
  } else {
    lines.push(`No active JAK course. Last course: ${courseLine(current.course)}.`);
  }
  for (const change of current?.course.doseChanges ?? []) {
    lines.push(`  Dose change ${change.date}: ${formatNumber(change.fromMg)} mg -> ${formatNumber(change.toMg)} mg`);
  }
  const earlier = earlierCourses(evaluation, current);
  if (earlier.length > 0) lines.push(`Earlier JAK courses: ${earlier.map((c) => courseLine(c.course)).join("; ")}.`);

  if (current) {
    const cps = checkpointLines(current.course);
    lines.push("");
    lines.push("Checkpoints:");
    lines.push(...(cps.length > 0 ? cps : ["- none reached yet"]));
  }

  const trends = trendLines(evaluation);
  if (trends.length > 0) {
    lines.push("");
    lines.push("Scores (baseline vs latest):");
    lines.push(...trends);
  }

  if (current) {
    const attention = labAttention(current.course, evaluation.flags, current.index);
    const done = current.course.labs.filter((l) => l.status === "done");
    lines.push("");
    lines.push("Safety labs:");
    const labLine = (l: LabRequirement) => `${requirementLabel(l.requirement, l.occurrence)} (due by ${l.dueBy})`;
    if (attention.overdue.length > 0) lines.push(`- ${labStatusLabel("overdue")}: ${attention.overdue.map(labLine).join("; ")}`);
    if (attention.missing.length > 0) lines.push(`- ${labStatusLabel("missing")}: ${attention.missing.map(labLine).join("; ")}`);
    if (attention.due.length > 0) lines.push(`- ${labStatusLabel("due")}: ${attention.due.map(labLine).join("; ")}`);
    for (const f of attention.abnormal) lines.push(`- abnormal (${f.severity}): ${f.message} (rule ${f.ruleId}; source: ${sourceText(f)})`);
    if (done.length > 0) lines.push(`- done: ${done.map(doneLabText).join("; ")}`);
    if (current.course.labs.length === 0 && attention.abnormal.length === 0) lines.push("- no lab requirements for this drug");
  }

  const flags = sortFlagsBySeverity(flagsForCourse(evaluation.flags, current?.index ?? null).filter((f) => f.kind !== "abnormal-lab"));
  if (flags.length > 0) {
    lines.push("");
    lines.push("Flags:");
    for (const f of flags) lines.push(`- [${f.severity}] ${f.message} (rule ${f.ruleId}; source: ${sourceText(f)})`);
  }

  // JAK courses are listed above with their checkpoints; the history adds the other therapy.
  const history = (evaluation.therapyHistory ?? []).filter((t) => t.therapyClass !== "jak-ad");
  if (history.length > 0) {
    lines.push("");
    lines.push("Prior and concurrent therapy:");
    for (const t of [...history].sort((a, b) => (a.start < b.start ? -1 : 1))) {
      const kind = therapyClassLabel(t.therapyClass);
      const name = t.name.toLowerCase() === kind.toLowerCase() ? kind : `${t.name} (${kind})`;
      lines.push(`- ${name}: ${t.start} to ${t.end ?? "ongoing"}`);
    }
  }
  return lines.join("\n");
}
