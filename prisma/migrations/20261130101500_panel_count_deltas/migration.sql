-- CreateTable
CREATE TABLE "panel_patient_deltas" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "drug" TEXT,
    "route" TEXT,
    "as_of" TEXT NOT NULL,
    "evaluated" INTEGER NOT NULL,
    "on_jak" INTEGER NOT NULL,
    "not_responded" INTEGER NOT NULL,
    "assessable_latest" INTEGER NOT NULL,
    "overdue_patients" INTEGER NOT NULL,
    "overdue_requirements" INTEGER NOT NULL,
    "abnormal_patients" INTEGER NOT NULL,
    "abnormal_results" INTEGER NOT NULL,

    CONSTRAINT "panel_patient_deltas_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "panel_checkpoint_deltas" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "drug" TEXT NOT NULL,
    "week" INTEGER NOT NULL,
    "decided" INTEGER NOT NULL,
    "responded" INTEGER NOT NULL,
    "not_responded" INTEGER NOT NULL,
    "not_assessable" INTEGER NOT NULL,
    "easi_num" INTEGER NOT NULL,
    "easi_den" INTEGER NOT NULL,
    "easi_na" INTEGER NOT NULL,
    "iga_num" INTEGER NOT NULL,
    "iga_den" INTEGER NOT NULL,
    "iga_na" INTEGER NOT NULL,
    "itch_num" INTEGER NOT NULL,
    "itch_den" INTEGER NOT NULL,
    "itch_na" INTEGER NOT NULL,
    "pain_num" INTEGER NOT NULL,
    "pain_den" INTEGER NOT NULL,
    "pain_na" INTEGER NOT NULL,

    CONSTRAINT "panel_checkpoint_deltas_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "panel_lab_deltas" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "month" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "panel_lab_deltas_pkey" PRIMARY KEY ("id")
);

-- Hand-written: the panel's counts kept as signed deltas by statement triggers on the rows they count (the
-- transition tables of each statement: +1 per new row, -1 per old row), summed when read and compacted after each
-- evaluation run (panel_count_deltas_compact). Insert-only, so concurrent writers never wait on each other here.
-- The contributions mirror the direct aggregations over evaluations, evaluation_checkpoints and evaluation_labs
-- that lib/panel/count-deltas.int.test.ts compares them with. Each *_sql function returns the INSERT for signed
-- rows in %s; the trigger function runs it (transition tables are visible only in the trigger function itself).
CREATE FUNCTION "panel_patient_deltas_sql"() RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT $q$
    INSERT INTO panel_patient_deltas (source, drug, route, as_of, evaluated, on_jak, not_responded, assessable_latest,
                                      overdue_patients, overdue_requirements, abnormal_patients, abnormal_results)
    SELECT source, drug, route, as_of, sum(s),
           coalesce(sum(s) FILTER (WHERE on_jak), 0),
           coalesce(sum(s) FILTER (WHERE on_jak AND latest_verdict = 'not-responded'), 0),
           coalesce(sum(s) FILTER (WHERE on_jak AND latest_verdict IN ('responded', 'not-responded')), 0),
           coalesce(sum(s) FILTER (WHERE on_jak AND (labs_overdue > 0 OR labs_missing > 0)), 0),
           coalesce(sum(s * (labs_overdue + labs_missing)) FILTER (WHERE on_jak), 0),
           coalesce(sum(s) FILTER (WHERE on_jak AND labs_abnormal > 0), 0),
           coalesce(sum(s * labs_abnormal) FILTER (WHERE on_jak), 0)
      FROM (%s) AS d
     GROUP BY source, drug, route, as_of$q$
$f$;

CREATE FUNCTION "panel_checkpoint_deltas_sql"() RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT $q$
    INSERT INTO panel_checkpoint_deltas (source, drug, week, decided, responded, not_responded, not_assessable,
                                         easi_num, easi_den, easi_na, iga_num, iga_den, iga_na,
                                         itch_num, itch_den, itch_na, pain_num, pain_den, pain_na)
    SELECT source, drug, week, sum(s),
           coalesce(sum(s) FILTER (WHERE verdict = 'responded'), 0),
           coalesce(sum(s) FILTER (WHERE verdict = 'not-responded'), 0),
           coalesce(sum(s) FILTER (WHERE verdict = 'not-assessable'), 0),
           coalesce(sum(s) FILTER (WHERE easi_status IN ('met', 'not-met') AND easi_band IN ('EASI-75', 'EASI-90')), 0),
           coalesce(sum(s) FILTER (WHERE easi_status IN ('met', 'not-met')), 0),
           coalesce(sum(s) FILTER (WHERE easi_status IS NOT NULL AND easi_status NOT IN ('met', 'not-met')), 0),
           coalesce(sum(s) FILTER (WHERE iga_status IS NOT NULL AND iga_baseline IS NOT NULL AND iga_value IS NOT NULL
                                     AND iga_value <= 1 AND iga_baseline - iga_value >= 2), 0),
           coalesce(sum(s) FILTER (WHERE iga_status IS NOT NULL AND iga_baseline IS NOT NULL AND iga_value IS NOT NULL), 0),
           coalesce(sum(s) FILTER (WHERE iga_status IS NOT NULL AND (iga_baseline IS NULL OR iga_value IS NULL)), 0),
           coalesce(sum(s) FILTER (WHERE itch_status = 'met'), 0),
           coalesce(sum(s) FILTER (WHERE itch_status IN ('met', 'not-met')), 0),
           coalesce(sum(s) FILTER (WHERE itch_status IS NOT NULL AND itch_status NOT IN ('met', 'not-met')), 0),
           coalesce(sum(s) FILTER (WHERE pain_status = 'met'), 0),
           coalesce(sum(s) FILTER (WHERE pain_status IN ('met', 'not-met')), 0),
           coalesce(sum(s) FILTER (WHERE pain_status IS NOT NULL AND pain_status NOT IN ('met', 'not-met')), 0)
      FROM (%s) AS d
     WHERE verdict IN ('responded', 'not-responded', 'not-assessable') AND NOT after_course_end
     GROUP BY source, drug, week$q$
$f$;

CREATE FUNCTION "panel_lab_deltas_sql"() RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT $q$
    INSERT INTO panel_lab_deltas (source, month, status, n)
    SELECT source, substr(due_by, 1, 7), status, sum(s) FROM (%s) AS d
     WHERE status IN ('done', 'missing', 'overdue')
     GROUP BY source, substr(due_by, 1, 7), status
    HAVING sum(s) <> 0$q$
$f$;

-- TG_ARGV[0]: the counts table the trigger keeps.
CREATE FUNCTION "panel_count_deltas_capture"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  insert_sql TEXT;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    EXECUTE format('DELETE FROM %I', TG_ARGV[0]);
    RETURN NULL;
  END IF;
  EXECUTE format('SELECT %I()', TG_ARGV[0] || '_sql') INTO insert_sql;
  EXECUTE format(insert_sql, CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT 1 AS s, * FROM new_rows'
    WHEN 'DELETE' THEN 'SELECT -1 AS s, * FROM old_rows'
    ELSE 'SELECT 1 AS s, * FROM new_rows UNION ALL SELECT -1 AS s, * FROM old_rows'
  END);
  RETURN NULL;
END $$;

CREATE TRIGGER "evaluations_counts_insert" AFTER INSERT ON "evaluations" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_patient_deltas');
CREATE TRIGGER "evaluations_counts_update" AFTER UPDATE ON "evaluations" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_patient_deltas');
CREATE TRIGGER "evaluations_counts_delete" AFTER DELETE ON "evaluations" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_patient_deltas');
CREATE TRIGGER "evaluations_counts_truncate" AFTER TRUNCATE ON "evaluations"
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_patient_deltas');

CREATE TRIGGER "evaluation_checkpoints_counts_insert" AFTER INSERT ON "evaluation_checkpoints" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_checkpoint_deltas');
CREATE TRIGGER "evaluation_checkpoints_counts_update" AFTER UPDATE ON "evaluation_checkpoints" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_checkpoint_deltas');
CREATE TRIGGER "evaluation_checkpoints_counts_delete" AFTER DELETE ON "evaluation_checkpoints" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_checkpoint_deltas');
CREATE TRIGGER "evaluation_checkpoints_counts_truncate" AFTER TRUNCATE ON "evaluation_checkpoints"
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_checkpoint_deltas');

CREATE TRIGGER "evaluation_labs_counts_insert" AFTER INSERT ON "evaluation_labs" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_lab_deltas');
CREATE TRIGGER "evaluation_labs_counts_update" AFTER UPDATE ON "evaluation_labs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_lab_deltas');
CREATE TRIGGER "evaluation_labs_counts_delete" AFTER DELETE ON "evaluation_labs" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_lab_deltas');
CREATE TRIGGER "evaluation_labs_counts_truncate" AFTER TRUNCATE ON "evaluation_labs"
  FOR EACH STATEMENT EXECUTE FUNCTION "panel_count_deltas_capture"('panel_lab_deltas');

-- Folds each counts table into one row per key (rows that sum to nothing go). Rows a writer adds meanwhile are
-- not in this statement's snapshot and stay as they are; a second compaction at once skips the rows this one took.
CREATE FUNCTION "panel_count_deltas_compact"() RETURNS void LANGUAGE sql AS $$
  WITH d AS (DELETE FROM panel_patient_deltas RETURNING *)
  INSERT INTO panel_patient_deltas (source, drug, route, as_of, evaluated, on_jak, not_responded, assessable_latest,
                                    overdue_patients, overdue_requirements, abnormal_patients, abnormal_results)
  SELECT source, drug, route, as_of, sum(evaluated), sum(on_jak), sum(not_responded), sum(assessable_latest),
         sum(overdue_patients), sum(overdue_requirements), sum(abnormal_patients), sum(abnormal_results)
    FROM d GROUP BY source, drug, route, as_of
  HAVING sum(evaluated) <> 0 OR sum(on_jak) <> 0 OR sum(not_responded) <> 0 OR sum(assessable_latest) <> 0
      OR sum(overdue_patients) <> 0 OR sum(overdue_requirements) <> 0 OR sum(abnormal_patients) <> 0 OR sum(abnormal_results) <> 0;

  WITH d AS (DELETE FROM panel_checkpoint_deltas RETURNING *)
  INSERT INTO panel_checkpoint_deltas (source, drug, week, decided, responded, not_responded, not_assessable,
                                       easi_num, easi_den, easi_na, iga_num, iga_den, iga_na,
                                       itch_num, itch_den, itch_na, pain_num, pain_den, pain_na)
  SELECT source, drug, week, sum(decided), sum(responded), sum(not_responded), sum(not_assessable),
         sum(easi_num), sum(easi_den), sum(easi_na), sum(iga_num), sum(iga_den), sum(iga_na),
         sum(itch_num), sum(itch_den), sum(itch_na), sum(pain_num), sum(pain_den), sum(pain_na)
    FROM d GROUP BY source, drug, week
  HAVING sum(decided) <> 0 OR sum(responded) <> 0 OR sum(not_responded) <> 0 OR sum(not_assessable) <> 0
      OR sum(easi_num) <> 0 OR sum(easi_den) <> 0 OR sum(easi_na) <> 0 OR sum(iga_num) <> 0 OR sum(iga_den) <> 0
      OR sum(iga_na) <> 0 OR sum(itch_num) <> 0 OR sum(itch_den) <> 0 OR sum(itch_na) <> 0 OR sum(pain_num) <> 0
      OR sum(pain_den) <> 0 OR sum(pain_na) <> 0;

  WITH d AS (DELETE FROM panel_lab_deltas RETURNING *)
  INSERT INTO panel_lab_deltas (source, month, status, n)
  SELECT source, month, status, sum(n) FROM d GROUP BY source, month, status HAVING sum(n) <> 0;
$$;

-- The same counts computed from the rows themselves, one row per key: what the deltas must sum to (the tests
-- compare them), and what the panel reads with PANEL_COUNTS=rows (a database where these triggers cannot run).
CREATE VIEW "panel_patient_counts_from_rows" AS
  SELECT source, drug, route, as_of, count(*)::integer AS evaluated,
         count(*) FILTER (WHERE on_jak)::integer AS on_jak,
         count(*) FILTER (WHERE on_jak AND latest_verdict = 'not-responded')::integer AS not_responded,
         count(*) FILTER (WHERE on_jak AND latest_verdict IN ('responded', 'not-responded'))::integer AS assessable_latest,
         count(*) FILTER (WHERE on_jak AND (labs_overdue > 0 OR labs_missing > 0))::integer AS overdue_patients,
         coalesce(sum(labs_overdue + labs_missing) FILTER (WHERE on_jak), 0)::integer AS overdue_requirements,
         count(*) FILTER (WHERE on_jak AND labs_abnormal > 0)::integer AS abnormal_patients,
         coalesce(sum(labs_abnormal) FILTER (WHERE on_jak), 0)::integer AS abnormal_results
    FROM evaluations GROUP BY source, drug, route, as_of;

CREATE VIEW "panel_checkpoint_counts_from_rows" AS
  SELECT source, drug, week, count(*)::integer AS decided,
         count(*) FILTER (WHERE verdict = 'responded')::integer AS responded,
         count(*) FILTER (WHERE verdict = 'not-responded')::integer AS not_responded,
         count(*) FILTER (WHERE verdict = 'not-assessable')::integer AS not_assessable,
         count(*) FILTER (WHERE easi_status IN ('met', 'not-met') AND easi_band IN ('EASI-75', 'EASI-90'))::integer AS easi_num,
         count(*) FILTER (WHERE easi_status IN ('met', 'not-met'))::integer AS easi_den,
         count(*) FILTER (WHERE easi_status IS NOT NULL AND easi_status NOT IN ('met', 'not-met'))::integer AS easi_na,
         count(*) FILTER (WHERE iga_status IS NOT NULL AND iga_baseline IS NOT NULL AND iga_value IS NOT NULL
                            AND iga_value <= 1 AND iga_baseline - iga_value >= 2)::integer AS iga_num,
         count(*) FILTER (WHERE iga_status IS NOT NULL AND iga_baseline IS NOT NULL AND iga_value IS NOT NULL)::integer AS iga_den,
         count(*) FILTER (WHERE iga_status IS NOT NULL AND (iga_baseline IS NULL OR iga_value IS NULL))::integer AS iga_na,
         count(*) FILTER (WHERE itch_status = 'met')::integer AS itch_num,
         count(*) FILTER (WHERE itch_status IN ('met', 'not-met'))::integer AS itch_den,
         count(*) FILTER (WHERE itch_status IS NOT NULL AND itch_status NOT IN ('met', 'not-met'))::integer AS itch_na,
         count(*) FILTER (WHERE pain_status = 'met')::integer AS pain_num,
         count(*) FILTER (WHERE pain_status IN ('met', 'not-met'))::integer AS pain_den,
         count(*) FILTER (WHERE pain_status IS NOT NULL AND pain_status NOT IN ('met', 'not-met'))::integer AS pain_na
    FROM evaluation_checkpoints
   WHERE verdict IN ('responded', 'not-responded', 'not-assessable') AND NOT after_course_end
   GROUP BY source, drug, week;

CREATE VIEW "panel_lab_counts_from_rows" AS
  SELECT source, substr(due_by, 1, 7) AS month, status, count(*)::integer AS n
    FROM evaluation_labs WHERE status IN ('done', 'missing', 'overdue')
   GROUP BY source, substr(due_by, 1, 7), status;

-- The counts of the rows stored before this migration.
DO $$
BEGIN
  EXECUTE format(panel_patient_deltas_sql(), 'SELECT 1 AS s, * FROM evaluations');
  EXECUTE format(panel_checkpoint_deltas_sql(), 'SELECT 1 AS s, * FROM evaluation_checkpoints');
  EXECUTE format(panel_lab_deltas_sql(), 'SELECT 1 AS s, * FROM evaluation_labs');
END $$;
