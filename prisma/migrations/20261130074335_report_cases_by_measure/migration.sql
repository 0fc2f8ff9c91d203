-- Hand-written (Prisma's schema language has no partitioning): report_cases partitioned by measure, so a report
-- reads only its own measure's cases instead of filtering every measure's (one patient's cases of all measures
-- are written together, so without partitions they share pages). Rows, keys, indexes and collations unchanged.
ALTER TABLE "report_cases" RENAME TO "report_cases_unpartitioned";
ALTER INDEX "report_cases_pkey" RENAME TO "report_cases_unpartitioned_pkey";
ALTER INDEX "report_cases_measure_id_case_date_source_patient_id_course__idx" RENAME TO "report_cases_unpartitioned_order_idx";
ALTER INDEX "report_cases_measure_date_cover_idx" RENAME TO "report_cases_unpartitioned_cover_idx";

CREATE TABLE "report_cases" (LIKE "report_cases_unpartitioned" INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY LIST ("measure_id");
ALTER TABLE "report_cases" ADD CONSTRAINT "report_cases_pkey" PRIMARY KEY ("source", "patient_id", "measure_id", "case_no");
CREATE INDEX "report_cases_measure_id_case_date_source_patient_id_course__idx" ON "report_cases"("measure_id", "case_date", "source", "patient_id", "course_index", "item", "case_no");
CREATE INDEX "report_cases_measure_date_cover_idx" ON "report_cases" ("measure_id", "case_date")
  INCLUDE ("source", "drug", "route", "prescriber", "stratum", "in_numerator", "excluded_reason");

CREATE TABLE "report_cases_baseline_screening" PARTITION OF "report_cases" FOR VALUES IN ('baseline-screening');
CREATE TABLE "report_cases_follow_up_labs" PARTITION OF "report_cases" FOR VALUES IN ('follow-up-labs');
CREATE TABLE "report_cases_response_assessed" PARTITION OF "report_cases" FOR VALUES IN ('response-assessed');
CREATE TABLE "report_cases_easi_75_primary" PARTITION OF "report_cases" FOR VALUES IN ('easi-75-primary');
CREATE TABLE "report_cases_symptom_response" PARTITION OF "report_cases" FOR VALUES IN ('symptom-response');
CREATE TABLE "report_cases_possible_missed_switch" PARTITION OF "report_cases" FOR VALUES IN ('possible-missed-switch');
CREATE TABLE "report_cases_abnormal_lab_no_repeat" PARTITION OF "report_cases" FOR VALUES IN ('abnormal-lab-no-repeat');
CREATE TABLE "report_cases_zoster_vaccination" PARTITION OF "report_cases" FOR VALUES IN ('zoster-vaccination');
-- A measure added later lands here until it gets its own partition.
CREATE TABLE "report_cases_other" PARTITION OF "report_cases" DEFAULT;

INSERT INTO "report_cases" SELECT * FROM "report_cases_unpartitioned";
DROP TABLE "report_cases_unpartitioned";
