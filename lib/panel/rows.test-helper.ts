/**
 * Test rows for the panel's queries, inserted with plain SQL: one synced patient's evaluation with its
 * checkpoints, labs and flags. The denormalised columns (flag counts, max severity, flag kinds, the next
 * checkpoint date) are derived from the flags and checkpoints given, the way the evaluation store writes them,
 * unless a test sets them itself.
 */
import { addDays } from "../clinical/dates";
import type pg from "pg";

export interface TestCheckpoint {
  week: number;
  verdict: "responded" | "not-responded" | "not-assessable" | "open" | "not-due";
  courseIndex?: number;
  drug?: string;
  route?: string;
  courseStart?: string;
  /** The window opens after the course ended (default false). */
  afterCourseEnd?: boolean;
  easi?: { status: string; baseline?: number | null; value?: number | null; percent?: number | null; band?: string | null };
  iga?: { status: string; criterion?: string; baseline?: number | null; value?: number | null };
  itch?: { status: string; baseline?: number | null; value?: number | null };
  pain?: { status: string; baseline?: number | null; value?: number | null };
}

export interface TestLab {
  requirement: string;
  status: "done" | "due" | "overdue" | "missing" | "not-due";
  dueBy: string;
  courseIndex?: number;
  drug?: string;
}

export interface TestFlag {
  kind: string;
  severity: "info" | "warning" | "critical";
  ruleId?: string;
}

export interface TestPatient {
  source: string;
  id: string;
  name?: string | null;
  asOf?: string;
  onJak?: boolean;
  drug?: string | null;
  route?: string | null;
  courseIndex?: number | null;
  courseStart?: string | null;
  courseEnd?: string | null;
  courseWeek?: number | null;
  prescriber?: string | null;
  latestCheckpointWeek?: number | null;
  latestVerdict?: string | null;
  nextDueDate?: string | null;
  nextDueKind?: string | null;
  /** Default: the earliest start + 7 x week on or after asOf among the latest course's open or not-due checkpoints, when on a JAK. */
  nextCheckpointDate?: string | null;
  labsMissing?: number;
  labsOverdue?: number;
  labsDue?: number;
  labsAbnormal?: number;
  checkpoints?: TestCheckpoint[];
  labs?: TestLab[];
  flags?: TestFlag[];
}

const SEVERITY_ORDER = ["critical", "warning", "info"] as const;

function derivedNextCheckpointDate(p: TestPatient, onJak: boolean, courseIndex: number | null, asOf: string): string | null {
  if (!onJak || courseIndex === null) return null;
  const targets = (p.checkpoints ?? [])
    .filter((c) => (c.courseIndex ?? courseIndex) === courseIndex && (c.verdict === "open" || c.verdict === "not-due"))
    .flatMap((c) => {
      const start = c.courseStart ?? p.courseStart;
      return start ? [addDays(start, c.week * 7)] : [];
    })
    .filter((target) => target >= asOf)
    .sort();
  return targets[0] ?? null;
}

export async function insertTestPatient(db: Pick<pg.Pool, "query">, p: TestPatient): Promise<void> {
  const flags = p.flags ?? [];
  const count = (s: string) => flags.filter((f) => f.severity === s).length;
  const kinds = [...new Set(flags.map((f) => f.kind))].sort();
  const flagCounts = Object.fromEntries(kinds.map((k) => [k, flags.filter((f) => f.kind === k).length]));
  const maxSeverity = SEVERITY_ORDER.find((s) => count(s) > 0) ?? null;
  const courseIndex = p.courseIndex ?? (p.drug ? 0 : null);
  const asOf = p.asOf ?? "2026-11-01";
  const onJak = p.onJak ?? p.drug !== undefined;
  await db.query(
    `INSERT INTO evaluations (source, patient_id, as_of, rules_version, patient_name, on_jak, course_count, course_index, drug, route,
        course_start, course_end, course_week, prescriber, latest_checkpoint_week, latest_verdict, next_due_date, next_due_kind,
        flags_critical, flags_warning, flags_info, max_severity, flag_kinds, flag_counts, labs_missing, labs_overdue, labs_due, labs_abnormal, result,
        next_checkpoint_date)
     VALUES ($1, $2, $3, 'test', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`,
    [
      p.source,
      p.id,
      asOf,
      p.name === undefined ? `Name ${p.id}` : p.name,
      onJak,
      courseIndex === null ? 0 : courseIndex + 1,
      courseIndex,
      p.drug ?? null,
      p.route ?? null,
      p.courseStart ?? null,
      p.courseEnd ?? null,
      p.courseWeek ?? null,
      p.prescriber ?? null,
      p.latestCheckpointWeek ?? null,
      p.latestVerdict ?? null,
      p.nextDueDate ?? null,
      p.nextDueKind ?? null,
      count("critical"),
      count("warning"),
      count("info"),
      maxSeverity,
      kinds,
      JSON.stringify(flagCounts),
      p.labsMissing ?? p.labs?.filter((l) => l.status === "missing").length ?? 0,
      p.labsOverdue ?? p.labs?.filter((l) => l.status === "overdue").length ?? 0,
      p.labsDue ?? p.labs?.filter((l) => l.status === "due").length ?? 0,
      p.labsAbnormal ?? flags.filter((f) => f.kind === "abnormal-lab").length,
      JSON.stringify({ patientId: p.id, courses: [], flags: [], dataQuality: [] }),
      p.nextCheckpointDate === undefined ? derivedNextCheckpointDate(p, onJak, courseIndex, asOf) : p.nextCheckpointDate,
    ],
  );
  for (const c of p.checkpoints ?? []) {
    await db.query(
      `INSERT INTO evaluation_checkpoints (source, patient_id, course_index, week, drug, route, course_start, window_start, window_end, verdict,
          easi_status, easi_baseline, easi_value, easi_percent, easi_band, iga_criterion, iga_status, iga_baseline, iga_value,
          itch_status, itch_baseline, itch_value, pain_status, pain_baseline, pain_value, after_course_end)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`,
      [
        p.source,
        p.id,
        c.courseIndex ?? courseIndex ?? 0,
        c.week,
        c.drug ?? p.drug,
        c.route ?? p.route,
        c.courseStart ?? p.courseStart,
        "2000-01-01",
        "2000-01-01",
        c.verdict,
        c.easi?.status ?? null,
        c.easi?.baseline ?? null,
        c.easi?.value ?? null,
        c.easi?.percent ?? null,
        c.easi?.band ?? null,
        c.iga ? (c.iga.criterion ?? "iga-success") : null,
        c.iga?.status ?? null,
        c.iga?.baseline ?? null,
        c.iga?.value ?? null,
        c.itch?.status ?? null,
        c.itch?.baseline ?? null,
        c.itch?.value ?? null,
        c.pain?.status ?? null,
        c.pain?.baseline ?? null,
        c.pain?.value ?? null,
        c.afterCourseEnd ?? false,
      ],
    );
  }
  for (const l of p.labs ?? []) {
    await db.query(
      `INSERT INTO evaluation_labs (source, patient_id, course_index, requirement, drug, status, due_by, done_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [p.source, p.id, l.courseIndex ?? courseIndex ?? 0, l.requirement, l.drug ?? p.drug ?? "upadacitinib", l.status, l.dueBy, l.status === "done" ? l.dueBy : null],
    );
  }
  let seq = 0;
  for (const f of flags) {
    await db.query(
      `INSERT INTO evaluation_flags (source, patient_id, seq, rule_id, kind, severity, message, rule_source, course_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [p.source, p.id, seq++, f.ruleId ?? `test.${f.kind}`, f.kind, f.severity, `Test ${f.kind}`, "test", courseIndex],
    );
  }
}

/** Empties the panel's tables between tests. */
export async function clearPanelTables(db: Pick<pg.Pool, "query">): Promise<void> {
  await db.query("TRUNCATE evaluations, evaluation_checkpoints, evaluation_labs, evaluation_flags, sync_runs, sources");
}
