/**
 * The panel's SQL: summary figures, the worklist (server-side filters, sort and paging) and the chart series,
 * read from the evaluation rows the sync writes (evaluations with denormalised filter columns, and their
 * checkpoints, labs and flags). Plain SQL on pg: aggregates with FILTER, parameters only (never spliced
 * values), one query per figure group, run in parallel. Every figure carries its definition.
 *
 * The summary's and the charts' aggregates are cached per process and per pool, keyed by (source filter,
 * today, max(evaluations.evaluated_at), count of evaluations): every evaluation write moves that key
 * (lib/db/evaluation-store.ts stamps evaluated_at in commit order), so a repeated call re-aggregates only
 * after the data changed. The sources and the latest sync run are read fresh on every call.
 *
 * Worklist pages are found in the worklist snapshot (lib/panel/worklist-snapshot.ts: the worklist's columns held
 * in the app at one evaluations version, each order sorted once by PostgreSQL) while that version stands, and by
 * SQL while it is behind or the panel is larger than the snapshot is kept for.
 */
import type pg from "pg";
import { addDays } from "../clinical/dates";
import { cachedByEvaluations, evaluationsVersionSql, panelCountsFrom } from "../db/evaluation-cache";
import type { CheckpointVerdict, DrugId, Route, Severity } from "../clinical/types";
import { latestWorklistSnapshot, refreshWorklistSnapshot, worklistSnapshotMaxRows, type SnapshotOptions } from "./worklist-snapshot";
import { DRUGS, describeFilters, panelPatientHref, serializePanelFilters, type PanelFilters, type Preset, type SortKey } from "./filters";
import type {
  FilterOptions,
  LabCompletenessPoint,
  PanelCharts,
  PanelSummary,
  RateFigure,
  ResponseCurvePoint,
  ResponseMeasure,
  ResponseRateRow,
  SourceSummary,
  WorklistPage,
  WorklistRow,
} from "./types";

/** What the queries need of a pg Pool (or a client in a test transaction). */
export type Queryable = Pick<pg.Pool, "query">;

/** "Due in the next 7 days": a next checkpoint target from today to today + DUE_SOON_DAYS, inclusive. */
export const DUE_SOON_DAYS = 7;
/** Months of due dates the lab-completeness chart covers, ending with the current month. */
export const LAB_COMPLETENESS_MONTHS = 24;

export const DEFINITIONS = {
  evaluatedPatients: "Synced patients with a current evaluation, on a JAK inhibitor or not.",
  onJak: "Patients whose latest JAK inhibitor course for atopic dermatitis has not ended, by that course's drug and route.",
  responseScope:
    "Every JAK course of every synced patient, counting only checkpoints whose verdict is decided: the window has closed (responded, not responded, not assessable) or a criterion was met early (responded). Checkpoints whose window opened only after the course had ended (stopped or switched) are left out altogether: a stopped course is not a non-responder. Each rate's denominator leaves out the checkpoints where that measure could not be assessed (no baseline, no value in the window, baseline below the threshold); they are counted as not assessable.",
  responseMeasures: {
    easi75: "EASI-75: EASI at least 75% below baseline (band EASI-75 or EASI-90), among checkpoints with an assessable EASI (baseline above 0 and a value).",
    igaSuccess: "IGA success: IGA 0 or 1 and at least 2 grades better than baseline, among checkpoints with an IGA baseline and an IGA value.",
    itch4: "Itch: at least 4 points better on the itch NRS, among checkpoints with an itch baseline of 4 or more and a value.",
    pain3: "Skin pain: at least 3 points better on the skin-pain NRS, among checkpoints with a skin-pain baseline of 3 or more and a value.",
  } satisfies Record<ResponseMeasure, string>,
  notResponded:
    "Patients on a JAK inhibitor whose latest decided checkpoint (window closed) was not responded, among those whose latest decided checkpoint was assessable (responded or not responded).",
  overdueLabs:
    "Patients on a JAK inhibitor with at least one safety lab overdue (a follow-up window closed without a result) or missing (a baseline lab not done by start + 3 days), among all patients on a JAK inhibitor; requirements counts those labs.",
  abnormalLabs:
    "Patients on a JAK inhibitor with at least one abnormal safety-lab result (an abnormal-lab flag: neutrophils, lymphocytes, haemoglobin, platelets or liver enzymes past the label's threshold), among all patients on a JAK inhibitor.",
  dueNext7Days: `Patients on a JAK inhibitor whose next undecided checkpoint of the running course (not yet due, or window open and no criterion met) has its target date (start + 7 x week days) from today to ${DUE_SOON_DAYS} days from today, among all patients on a JAK inhibitor; one checkpoint per patient, as checkpoints are at least two weeks apart.`,
  responseCurves:
    "Per drug and checkpoint week, over every JAK course: responded / (responded + not responded) among decided checkpoints; not-assessable checkpoints are left out of the percent and counted beside it. Checkpoints whose window opened only after the course had ended are left out altogether (a stopped course is not a non-responder).",
  labCompleteness: `Per month of the due date (last ${LAB_COMPLETENESS_MONTHS} months up to today): done / (done + missing + overdue) over safety-lab requirements of every JAK course; requirements still due or not yet due are not counted.`,
} as const;

function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value !== "") return Number(value);
  return 0;
}

function percent(numerator: number, denominator: number): number | null {
  return denominator > 0 ? Math.round((numerator / denominator) * 1000) / 10 : null;
}

function iso(value: unknown): string | null {
  if (value instanceof Date) return value.toISOString();
  return typeof value === "string" ? value : null;
}

function rate(numerator: unknown, denominator: unknown, notAssessable: unknown): RateFigure {
  const n = num(numerator);
  const d = num(denominator);
  return { numerator: n, denominator: d, notAssessable: num(notAssessable), percent: percent(n, d) };
}

/** Sources with their last successful sync, by name. */
export async function listSources(db: Queryable): Promise<SourceSummary[]> {
  const { rows } = await db.query<{ id: string; name: string; last_success_at: Date | null }>(`SELECT id, name, last_success_at FROM sources ORDER BY name, id`);
  return rows.map((r) => ({ id: r.id, name: r.name, lastSuccessAt: iso(r.last_success_at) }));
}

/** The figures for (view, source, today), cached until an evaluation is written (lib/db/evaluation-cache.ts). */
function cachedFigures<T>(db: Queryable, view: "summary" | "charts", source: string | null, today: string, compute: () => Promise<T>, version?: string): Promise<T> {
  return cachedByEvaluations(db, JSON.stringify(["panel", view, source, today, panelCountsFrom()]), source, compute, version);
}

/** The relations the summary and charts count from (panelCountsFrom: the kept deltas, or views over the rows). */
function countsRelations(): { patients: string; checkpoints: string; labs: string } {
  return panelCountsFrom() === "rows"
    ? { patients: "panel_patient_counts_from_rows", checkpoints: "panel_checkpoint_counts_from_rows", labs: "panel_lab_counts_from_rows" }
    : { patients: "panel_patient_deltas", checkpoints: "panel_checkpoint_deltas", labs: "panel_lab_deltas" };
}

/** The source filter on alias as the query's first parameter (sourceParams), or no filter for all sources. */
function sourceWhere(alias: string, source: string | null): string {
  return source === null ? "TRUE" : `${alias}.source = $1`;
}

function sourceParams(source: string | null): string[] {
  return source === null ? [] : [source];
}

type SummaryFigures = Omit<PanelSummary, "sources" | "lastSync">;

export async function panelSummary(db: Queryable, options: { source: string | null; today: string }): Promise<PanelSummary> {
  const { source, today } = options;
  // One round trip for what every request reads (the sources, the last sync, the evaluations version); the figures
  // come from the cache while the version stands.
  const { rows } = await db.query<{
    version: string;
    source_ids: string[];
    source_names: string[];
    source_successes: Array<Date | null>;
    sync_source: string | null;
    sync_status: string | null;
    sync_started_at: Date | null;
    sync_finished_at: Date | null;
  }>(
    `SELECT ${evaluationsVersionSql(source)} AS version, s.source_ids, s.source_names, s.source_successes,
            r.source AS sync_source, r.status AS sync_status, r.started_at AS sync_started_at, r.finished_at AS sync_finished_at
       FROM (SELECT coalesce(array_agg(id ORDER BY name, id), '{}') AS source_ids, coalesce(array_agg(name ORDER BY name, id), '{}') AS source_names,
                    coalesce(array_agg(last_success_at ORDER BY name, id), '{}') AS source_successes FROM sources) s
       LEFT JOIN LATERAL (SELECT source, status, started_at, finished_at FROM sync_runs r WHERE ${sourceWhere("r", source)} ORDER BY started_at DESC, id DESC LIMIT 1) r ON TRUE`,
    sourceParams(source),
  );
  const row = rows[0]!;
  const figures = await cachedFigures(db, "summary", source, today, () => summaryFigures(db, source, today), row.version);
  return {
    ...figures,
    sources: row.source_ids.map((id, i) => ({ id, name: row.source_names[i]!, lastSuccessAt: iso(row.source_successes[i]) })),
    lastSync: row.sync_source !== null ? { source: row.sync_source, status: row.sync_status ?? "", startedAt: iso(row.sync_started_at) ?? "", finishedAt: iso(row.sync_finished_at) } : null,
  };
}

async function summaryFigures(db: Queryable, source: string | null, today: string): Promise<SummaryFigures> {
  // From the count deltas the evaluation writes keep (a few hundred rows), not from the 100,000s of evaluation rows.
  const from = countsRelations();
  const [counts, rates, due] = await Promise.all([
    // Per (drug, route, date) first, so the evaluation date range counts dates some patient still has.
    db.query(
      `WITH g AS (
         SELECT drug, route, as_of, sum(evaluated) AS evaluated, sum(on_jak) AS on_jak, sum(not_responded) AS not_responded,
                sum(assessable_latest) AS assessable_latest, sum(overdue_patients) AS overdue_patients,
                sum(overdue_requirements) AS overdue_requirements, sum(abnormal_patients) AS abnormal_patients,
                sum(abnormal_results) AS abnormal_results
           FROM ${from.patients} e WHERE ${sourceWhere("e", source)}
          GROUP BY drug, route, as_of HAVING sum(evaluated) <> 0)
       SELECT drug, route, GROUPING(drug, route) AS level,
              sum(evaluated) AS evaluated, sum(on_jak) AS on_jak, sum(not_responded) AS not_responded,
              sum(assessable_latest) AS assessable_latest, sum(overdue_patients) AS overdue_patients,
              coalesce(sum(overdue_requirements), 0) AS overdue_requirements, sum(abnormal_patients) AS abnormal_patients,
              coalesce(sum(abnormal_results), 0) AS abnormal_results,
              min(as_of) AS min_as_of, max(as_of) AS max_as_of
         FROM g
        GROUP BY GROUPING SETS ((), (drug, route))`,
      sourceParams(source),
    ),
    db.query(
      `SELECT drug, week, sum(decided) AS decided,
              sum(easi_num) AS easi_num, sum(easi_den) AS easi_den, sum(easi_na) AS easi_na,
              sum(iga_num) AS iga_num, sum(iga_den) AS iga_den, sum(iga_na) AS iga_na,
              sum(itch_num) AS itch_num, sum(itch_den) AS itch_den, sum(itch_na) AS itch_na,
              sum(pain_num) AS pain_num, sum(pain_den) AS pain_den, sum(pain_na) AS pain_na
         FROM ${from.checkpoints} c
        WHERE ${sourceWhere("c", source)}
        GROUP BY drug, week HAVING sum(decided) <> 0`,
      sourceParams(source),
    ),
    dueSoonCount(db, source, today),
  ]);

  const t = counts.rows.find((r) => num(r.level) === 3) ?? {};
  const byDrugRoute = counts.rows.filter((r) => num(r.level) === 0 && r.drug !== null && r.route !== null && num(r.on_jak) > 0);
  const onJakCount = num(t.on_jak);
  const rows: ResponseRateRow[] = rates.rows.map((r) => {
    const figures: Partial<Record<ResponseMeasure, RateFigure>> = {};
    const add = (key: ResponseMeasure, prefix: string) => {
      if (num(r[`${prefix}_den`]) + num(r[`${prefix}_na`]) > 0) figures[key] = rate(r[`${prefix}_num`], r[`${prefix}_den`], r[`${prefix}_na`]);
    };
    add("easi75", "easi");
    add("igaSuccess", "iga");
    add("itch4", "itch");
    add("pain3", "pain");
    return { drug: r.drug as DrugId, week: num(r.week), decided: num(r.decided), rates: figures };
  });
  rows.sort((a, b) => drugOrder(a.drug) - drugOrder(b.drug) || a.week - b.week);
  const dueSoon = num(due.rows[0]?.patients);

  return {
    today,
    source,
    evaluatedPatients: { count: num(t.evaluated), definition: DEFINITIONS.evaluatedPatients },
    onJak: {
      count: onJakCount,
      definition: DEFINITIONS.onJak,
      byDrugRoute: byDrugRoute
        .map((r) => ({ drug: r.drug as DrugId, route: r.route as Route, count: num(r.on_jak) }))
        .sort((a, b) => drugOrder(a.drug) - drugOrder(b.drug) || a.route.localeCompare(b.route)),
    },
    responseRates: { definitions: DEFINITIONS.responseMeasures, scope: DEFINITIONS.responseScope, rows },
    notResponded: { count: num(t.not_responded), denominator: num(t.assessable_latest), definition: DEFINITIONS.notResponded },
    overdueLabs: { count: num(t.overdue_patients), requirements: num(t.overdue_requirements), denominator: onJakCount, definition: DEFINITIONS.overdueLabs },
    abnormalLabs: { count: num(t.abnormal_patients), results: num(t.abnormal_results), denominator: onJakCount, definition: DEFINITIONS.abnormalLabs },
    dueNext7Days: { count: dueSoon, patients: dueSoon, definition: DEFINITIONS.dueNext7Days },
    evaluatedAsOf: { min: (t.min_as_of as string | null) ?? null, max: (t.max_as_of as string | null) ?? null },
  };
}

/** Patients whose next checkpoint target is due soon (evaluations_next_checkpoint_date_idx). */
async function dueSoonCount(db: Queryable, source: string | null, today: string) {
  const c = new Conditions();
  c.add(dueSoonCondition(c, today));
  if (source !== null) c.add(`e.source = ${c.param(source)}`);
  return db.query(`SELECT count(*) AS patients FROM evaluations e ${c.where}`, c.params);
}

function drugOrder(drug: string): number {
  const i = (DRUGS as readonly string[]).indexOf(drug);
  return i < 0 ? DRUGS.length : i;
}

/**
 * The next undecided checkpoint of a running course has its target from today to today + 7. Only running
 * courses have a next_checkpoint_date, so this also means "on a JAK inhibitor now".
 */
function dueSoonCondition(c: Conditions, today: string): string {
  return `e.next_checkpoint_date BETWEEN ${c.param(today)} AND ${c.param(addDays(today, DUE_SOON_DAYS))}`;
}

/** Collects SQL conditions with numbered parameters. */
class Conditions {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  add(sql: string): void {
    this.parts.push(sql);
  }
  get where(): string {
    return this.parts.length > 0 ? `WHERE ${this.parts.join("\n AND ")}` : "";
  }
}

const SEVERITY_COLUMN: Record<Severity, string> = { critical: "flags_critical", warning: "flags_warning", info: "flags_info" };

/** The WHERE clause of the worklist for filters (page, size and sort aside); WorklistSnapshot's matches mirrors it. */
export function worklistConditions(filters: PanelFilters, today: string): Conditions {
  const c = new Conditions();
  if (filters.source) c.add(`e.source = ${c.param(filters.source)}`);
  if (filters.scope === "on-jak") c.add("e.on_jak");
  if (filters.drug) c.add(`e.drug = ${c.param(filters.drug)}`);
  if (filters.route) c.add(`e.route = ${c.param(filters.route)}`);
  if (filters.week) c.add(`e.latest_checkpoint_week = ${c.param(filters.week)}`);
  if (filters.verdict === "none") c.add("e.latest_verdict IS NULL");
  else if (filters.verdict) c.add(`e.latest_verdict = ${c.param(filters.verdict)}`);
  if (filters.flag && filters.severity) {
    // The denormalised columns narrow to patients with both a flag of the kind and one of the severity; the
    // flag rows (read by primary key) decide whether one flag has both.
    const kind = c.param(filters.flag);
    const severity = c.param(filters.severity);
    c.add(`e.flag_kinds @> ARRAY[${kind}]::text[] AND e.${SEVERITY_COLUMN[filters.severity]} > 0`);
    c.add(`EXISTS (SELECT 1 FROM evaluation_flags f WHERE f.source = e.source AND f.patient_id = e.patient_id AND f.kind = ${kind} AND f.severity = ${severity})`);
  } else if (filters.flag) c.add(`e.flag_kinds @> ARRAY[${c.param(filters.flag)}]::text[]`);
  else if (filters.severity) c.add(`e.${SEVERITY_COLUMN[filters.severity]} > 0`);
  if (filters.prescriber) c.add(`e.prescriber = ${c.param(filters.prescriber)}`);
  const dateColumn = filters.dateOf === "due" ? "e.next_due_date" : "e.course_start";
  if (filters.from) c.add(`${dateColumn} >= ${c.param(filters.from)}`);
  if (filters.to) c.add(`${dateColumn} <= ${c.param(filters.to)}`);
  switch (filters.preset) {
    case "not-responded":
      c.add("e.latest_verdict = 'not-responded'");
      break;
    case "overdue-labs":
      c.add("(e.labs_overdue > 0 OR e.labs_missing > 0)");
      break;
    case "abnormal-labs":
      c.add("e.labs_abnormal > 0");
      break;
    case "due-7-days":
      c.add(dueSoonCondition(c, today));
      break;
    case null:
      break;
  }
  return c;
}

const NAME = "e.patient_name";
const SEVERITY_RANK_SQL = "(CASE e.max_severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 0 END)";
const VERDICT_RANK_SQL = "(CASE e.latest_verdict WHEN 'not-responded' THEN 0 WHEN 'not-assessable' THEN 1 WHEN 'responded' THEN 2 ELSE 3 END)";

/**
 * ORDER BY for a sort key: the key in the chosen direction (empty values last either way), then fixed tie-breakers
 * so pages never overlap: the name, then the primary key. `byName`: SQL that orders as that tail does (the
 * snapshot's precomputed rank of each row by name, which spares a sort by collation per order).
 */
export function worklistOrder(sort: SortKey, dir: "asc" | "desc", byName?: { asc: string; desc: string }): string {
  const d = dir === "asc" ? "ASC" : "DESC";
  const flip = dir === "asc" ? "DESC" : "ASC";
  const thenByName = byName ? [byName.asc] : [`${NAME} ASC NULLS LAST`, "e.source ASC", "e.patient_id ASC"];
  const keys: Record<SortKey, string[]> = {
    name: byName ? [byName[dir]] : [`${NAME} ${d} NULLS LAST`, "e.source ASC", "e.patient_id ASC"],
    drug: [`e.drug ${d} NULLS LAST`, `e.route ${d} NULLS LAST`, ...thenByName],
    week: [`e.course_week ${d} NULLS LAST`, ...thenByName],
    verdict: [`${VERDICT_RANK_SQL} ${d}`, `e.latest_checkpoint_week ${flip} NULLS LAST`, ...thenByName],
    due: [`e.next_due_date ${d} NULLS LAST`, ...thenByName],
    severity: [`${SEVERITY_RANK_SQL} ${d}`, `e.flags_critical ${d}`, `e.flags_warning ${d}`, `e.flags_info ${d}`, ...thenByName],
  };
  return keys[sort].join(", ");
}

interface WorklistDbRow {
  source: string;
  patient_id: string;
  patient_name: string | null;
  on_jak: boolean;
  drug: DrugId | null;
  route: Route | null;
  course_start: string | null;
  course_week: number | null;
  prescriber: string | null;
  latest_checkpoint_week: number | null;
  latest_verdict: CheckpointVerdict | null;
  next_due_date: string | null;
  next_due_kind: string | null;
  flags_critical: number;
  flags_warning: number;
  flags_info: number;
  labs_overdue: number;
  labs_missing: number;
  labs_abnormal: number;
}

/** The panel_patient_deltas column counting on-JAK patients who match each preset (none: no preset). */
const ON_JAK_KEPT_COUNT: Record<Preset | "none", string | null> = {
  none: "on_jak",
  "not-responded": "not_responded",
  "overdue-labs": "overdue_patients",
  "abnormal-labs": "abnormal_patients",
  "due-7-days": null,
};

/**
 * The number of worklist matches as SQL over the patient counts the evaluation writes keep (panel_patient_deltas),
 * for the filter sets those counts answer (scope, source, drug, route, and with scope on-jak the not-responded,
 * overdue-labs and abnormal-labs presets); null for any other filter, or when the counts are read from the rows.
 * Adds its parameters to `c`.
 */
function keptCountSql(filters: PanelFilters, c: Conditions): string | null {
  if (panelCountsFrom() === "rows") return null;
  if (filters.week || filters.verdict || filters.flag || filters.severity || filters.prescriber || filters.from || filters.to) return null;
  const column = filters.scope === "all" ? (filters.preset === null ? "evaluated" : null) : ON_JAK_KEPT_COUNT[filters.preset ?? "none"];
  if (!column) return null;
  const where = [
    ...(filters.source ? [`d.source = ${c.param(filters.source)}`] : []),
    ...(filters.drug ? [`d.drug = ${c.param(filters.drug)}`] : []),
    ...(filters.route ? [`d.route = ${c.param(filters.route)}`] : []),
  ];
  return `(SELECT coalesce(sum(d.${column}), 0) FROM panel_patient_deltas d${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""})`;
}

const WORKLIST_COLUMNS = `e.source, e.patient_id, e.patient_name, e.on_jak, e.drug, e.route, e.course_start, e.course_week, e.prescriber,
            e.latest_checkpoint_week, e.latest_verdict, e.next_due_date, e.next_due_kind,
            e.flags_critical, e.flags_warning, e.flags_info, e.labs_overdue, e.labs_missing, e.labs_abnormal`;
const snapshotOptions = (): SnapshotOptions => ({ dueSoonDays: DUE_SOON_DAYS, maxRows: worklistSnapshotMaxRows(), order: worklistOrder });

/**
 * One page of the worklist and the number of rows over all pages: found in the worklist snapshot when it is at
 * the current evaluations version (the page's rows and that version read in one statement), else by SQL while a
 * new snapshot is read in the background (lib/panel/worklist-snapshot.ts).
 */
export async function worklistPage(db: Queryable, filters: PanelFilters, options: { today: string; sourceName?: (id: string) => string }): Promise<WorklistPage> {
  const snapshot = latestWorklistSnapshot(db);
  if (snapshot) {
    const { keys, total } = snapshot.page(filters, options.today);
    const { rows } = await db.query<WorklistDbRow & { version: string }>(
      `SELECT v.version, ${WORKLIST_COLUMNS}
         FROM (SELECT ${evaluationsVersionSql(null)} AS version) v
         LEFT JOIN (unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(source, patient_id, n)
                    JOIN evaluations e ON e.source = k.source AND e.patient_id = k.patient_id) ON TRUE
        ORDER BY k.n`,
      [keys.map((k) => k.source), keys.map((k) => k.patientId)],
    );
    if (rows[0]?.version === snapshot.version) {
      snapshot.answered++;
      return worklistPageOf(filters, options, rows.filter((r) => r.patient_id !== null), total);
    }
  }
  refreshWorklistSnapshot(db, snapshotOptions());
  return worklistPageBySql(db, filters, options);
}

/** One page of the worklist by SQL over the evaluations (the answer while the snapshot is missing or behind). */
export async function worklistPageBySql(db: Queryable, filters: PanelFilters, options: { today: string; sourceName?: (id: string) => string }): Promise<WorklistPage> {
  const where = worklistConditions(filters, options.today);
  const limit = `LIMIT ${filters.size} OFFSET ${(filters.page - 1) * filters.size}`;
  const order = worklistOrder(filters.sort, filters.dir);
  const kept = keptCountSql(filters, where);
  // The page's keys sorted (narrow rows), then its rows by primary key. The number of matches: from the kept counts
  // when they can answer the filters (a window count over the scan cost a third of the query), else counted in the
  // same scan; a page past the end has no row to carry that count: counted apart.
  const rows = await db.query<WorklistDbRow & { total: string }>(
    kept
      ? `WITH page AS (SELECT e.source, e.patient_id FROM evaluations e ${where.where} ORDER BY ${order} ${limit})
         SELECT ${WORKLIST_COLUMNS}, t.total
           FROM (SELECT ${kept} AS total) t
           LEFT JOIN (page JOIN evaluations e ON e.source = page.source AND e.patient_id = page.patient_id) ON TRUE
          ORDER BY ${order}`
      : `WITH page AS (SELECT e.source, e.patient_id, count(*) OVER () AS total FROM evaluations e ${where.where} ORDER BY ${order} ${limit})
         SELECT ${WORKLIST_COLUMNS}, page.total
           FROM page JOIN evaluations e ON e.source = page.source AND e.patient_id = page.patient_id
          ORDER BY ${order}`,
    where.params,
  );
  const pageRows = rows.rows.filter((r) => r.patient_id !== null);
  const counted =
    kept || pageRows.length > 0 || filters.page === 1
      ? rows.rows[0]?.total
      : (await db.query<{ total: string }>(`SELECT count(*) AS total FROM evaluations e ${where.where}`, where.params)).rows[0]?.total;
  return worklistPageOf(filters, options, pageRows, num(counted));
}

function worklistPageOf(filters: PanelFilters, options: { today: string; sourceName?: (id: string) => string }, rows: WorklistDbRow[], total: number): WorklistPage {
  return {
    today: options.today,
    rows: rows.map(toWorklistRow),
    total,
    page: filters.page,
    pageSize: filters.size,
    pageCount: Math.max(1, Math.ceil(total / filters.size)),
    query: serializePanelFilters(filters),
    describedFilters: describeFilters(filters, options.sourceName),
  };
}

function toWorklistRow(r: WorklistDbRow): WorklistRow {
  return {
    source: r.source,
    patientId: r.patient_id,
    name: r.patient_name,
    onJak: r.on_jak,
    drug: r.drug,
    route: r.route,
    courseStart: r.course_start,
    courseWeek: r.course_week,
    prescriber: r.prescriber,
    latestCheckpointWeek: r.latest_checkpoint_week,
    latestVerdict: r.latest_verdict,
    flags: { critical: num(r.flags_critical), warning: num(r.flags_warning), info: num(r.flags_info) },
    labs: { overdue: num(r.labs_overdue), missing: num(r.labs_missing), abnormal: num(r.labs_abnormal) },
    nextDue: r.next_due_date ? { date: r.next_due_date, kind: r.next_due_kind ?? "" } : null,
    href: panelPatientHref(r.source, r.patient_id),
  };
}

/** Choices for the worklist's filter form: the sources and the prescribers seen on running courses. */
export async function filterOptions(db: Queryable, options: { source: string | null }): Promise<FilterOptions> {
  const [sources, prescribers] = await Promise.all([
    listSources(db),
    db.query<{ prescriber: string }>(
      `SELECT DISTINCT prescriber FROM evaluations e WHERE prescriber IS NOT NULL AND ($1::text IS NULL OR e.source = $1) ORDER BY prescriber LIMIT 500`,
      [options.source],
    ),
  ]);
  return { sources, prescribers: prescribers.rows.map((r) => r.prescriber) };
}

/** The first day of the month `months - 1` months before today's month. */
function monthsBackStart(today: string, months: number): string {
  const y = Number(today.slice(0, 4));
  const m = Number(today.slice(5, 7)) - (months - 1);
  const year = y + Math.floor((m - 1) / 12);
  const month = ((((m - 1) % 12) + 12) % 12) + 1;
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-01`;
}

export async function panelCharts(db: Queryable, options: { source: string | null; today: string }): Promise<PanelCharts> {
  const { source, today } = options;
  return cachedFigures(db, "charts", source, today, () => chartFigures(db, source, today));
}

async function chartFigures(db: Queryable, source: string | null, today: string): Promise<PanelCharts> {
  const n = sourceParams(source).length;
  // From the count deltas, as the summary.
  const from = countsRelations();
  const [curves, labs] = await Promise.all([
    db.query(
      `SELECT drug, week, sum(responded) AS responded, sum(not_responded) AS not_responded, sum(not_assessable) AS not_assessable
         FROM ${from.checkpoints} c
        WHERE ${sourceWhere("c", source)}
        GROUP BY drug, week HAVING sum(decided) <> 0`,
      sourceParams(source),
    ),
    // Whole months from the deltas; the current month up to today from its few rows (the deltas cannot know today).
    db.query(
      `SELECT month, sum(done) AS done, sum(missing) AS missing, sum(overdue) AS overdue FROM (
         SELECT month,
                coalesce(sum(n) FILTER (WHERE status = 'done'), 0) AS done,
                coalesce(sum(n) FILTER (WHERE status = 'missing'), 0) AS missing,
                coalesce(sum(n) FILTER (WHERE status = 'overdue'), 0) AS overdue
           FROM ${from.labs} l
          WHERE month >= $${n + 1} AND month < $${n + 2} AND ${sourceWhere("l", source)}
          GROUP BY month HAVING sum(n) <> 0
         UNION ALL
         SELECT substr(due_by, 1, 7),
                count(*) FILTER (WHERE status = 'done'),
                count(*) FILTER (WHERE status = 'missing'),
                count(*) FILTER (WHERE status = 'overdue')
           FROM evaluation_labs l
          WHERE status IN ('done', 'missing', 'overdue') AND due_by >= $${n + 3} AND due_by <= $${n + 4} AND ${sourceWhere("l", source)}
          GROUP BY 1) AS m
        GROUP BY month ORDER BY month`,
      [...sourceParams(source), monthsBackStart(today, LAB_COMPLETENESS_MONTHS).slice(0, 7), today.slice(0, 7), `${today.slice(0, 7)}-01`, today],
    ),
  ]);
  const byDrug = new Map<DrugId, ResponseCurvePoint[]>();
  for (const r of curves.rows) {
    const responded = num(r.responded);
    const notResponded = num(r.not_responded);
    const point: ResponseCurvePoint = { week: num(r.week), responded, notResponded, notAssessable: num(r.not_assessable), percent: percent(responded, responded + notResponded) };
    const list = byDrug.get(r.drug as DrugId) ?? [];
    list.push(point);
    byDrug.set(r.drug as DrugId, list);
  }
  const series = [...byDrug.entries()]
    .sort(([a], [b]) => drugOrder(a) - drugOrder(b))
    .map(([drug, points]) => ({ drug, points: points.sort((a, b) => a.week - b.week) }));
  const points: LabCompletenessPoint[] = labs.rows.map((r) => {
    const done = num(r.done);
    const missing = num(r.missing);
    const overdue = num(r.overdue);
    return { month: String(r.month), done, missing, overdue, percent: percent(done, done + missing + overdue) };
  });
  return {
    today,
    source,
    responseCurves: { definition: DEFINITIONS.responseCurves, series },
    labCompleteness: { definition: DEFINITIONS.labCompleteness, points },
  };
}
