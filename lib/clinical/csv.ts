/**
 * CSV form of an engine output (`npm run evaluate -- --format csv`): one row per course checkpoint and one
 * per lab requirement. Columns:
 *   patientId      the patient
 *   course         index of the course in the patient's `courses` (0-based)
 *   drug, route    course drug id and route
 *   courseStart    course start (YYYY-MM-DD); courseEnd (empty while ongoing)
 *   rowType        "checkpoint" or "lab"
 *   item           checkpoint week (e.g. "12") or lab requirement id (e.g. "baseline:tb-screen")
 *   status         checkpoint verdict or lab status (section 7 vocabulary)
 *   windowStart    checkpoint / lab window start
 *   windowEnd      checkpoint window end, or the lab's dueBy
 *   easi, iga, itch, pain   for checkpoints: "status baseline->value" of that measure (empty when not a criterion)
 *   easiPercent    EASI percent improvement; easiBand its band
 *   satisfiedBy    for labs: the resources that satisfied it, separated by spaces
 * Patients without a course get one row with rowType "patient" so every patient appears.
 */
import type { EngineOutput, MeasureAtCheckpoint } from "./types";

export const CSV_COLUMNS = [
  "patientId", "course", "drug", "route", "courseStart", "courseEnd", "rowType", "item", "status", "windowStart", "windowEnd",
  "easi", "iga", "itch", "pain", "easiPercent", "easiBand", "satisfiedBy",
] as const;

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function measureCell(m: MeasureAtCheckpoint | undefined): string {
  if (!m) return "";
  return `${m.status} ${m.baseline ?? "-"}->${m.value ?? "-"}`;
}

export function toCsv(output: EngineOutput): string {
  const lines: string[] = [CSV_COLUMNS.join(",")];
  const row = (cells: Array<string | number | null | undefined>) => lines.push(cells.map(csvField).join(","));
  for (const p of output.patients) {
    if (p.courses.length === 0) row([p.patientId, "", "", "", "", "", "patient", "", "no-course", "", "", "", "", "", "", "", "", ""]);
    p.courses.forEach((c, i) => {
      for (const cp of c.checkpoints) {
        const m = cp.measures;
        row([p.patientId, i, c.drug, c.route, c.start, c.end, "checkpoint", cp.week, cp.verdict, cp.windowStart, cp.windowEnd,
          measureCell(m.easi), measureCell(m.iga), measureCell(m.itch), measureCell(m.pain), m.easi?.percentImprovement ?? "", m.easi?.band ?? "", ""]);
      }
      for (const l of c.labs) {
        row([p.patientId, i, c.drug, c.route, c.start, c.end, "lab", l.requirement, l.status, l.windowStart ?? "", l.dueBy, "", "", "", "", "", "", (l.satisfiedBy ?? []).join(" ")]);
      }
    });
  }
  return `${lines.join("\r\n")}\r\n`;
}
