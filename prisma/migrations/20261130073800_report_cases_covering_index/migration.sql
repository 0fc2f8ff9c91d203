-- Hand-written (Prisma's schema language has no INCLUDE): a report's figures aggregate one measure's cases in a
-- period by stratum, month and outcome with the filter columns; this index answers that with an index-only scan.
CREATE INDEX "report_cases_measure_date_cover_idx" ON "report_cases" ("measure_id", "case_date")
  INCLUDE ("source", "drug", "route", "prescriber", "stratum", "in_numerator", "excluded_reason");
