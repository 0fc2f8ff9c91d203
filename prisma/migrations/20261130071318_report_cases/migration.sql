-- CreateTable
CREATE TABLE "report_cases" (
    "source" TEXT NOT NULL,
    "patient_id" TEXT NOT NULL,
    "measure_id" TEXT NOT NULL,
    "case_no" INTEGER NOT NULL,
    "course_index" INTEGER NOT NULL,
    "drug" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "course_start" TEXT NOT NULL,
    "prescriber" TEXT,
    "case_date" TEXT NOT NULL,
    "stratum" TEXT NOT NULL,
    "item" TEXT NOT NULL DEFAULT '',
    "in_numerator" BOOLEAN NOT NULL,
    "excluded_reason" TEXT,

    CONSTRAINT "report_cases_pkey" PRIMARY KEY ("source","patient_id","measure_id","case_no")
);

-- CreateTable
CREATE TABLE "report_notes" (
    "source" TEXT NOT NULL,
    "patient_id" TEXT NOT NULL,
    "measure_id" TEXT NOT NULL,
    "note_no" INTEGER NOT NULL,
    "resource" TEXT,
    "issue" TEXT NOT NULL,

    CONSTRAINT "report_notes_pkey" PRIMARY KEY ("source","patient_id","measure_id","note_no")
);

-- CreateTable
CREATE TABLE "report_exports" (
    "id" BIGSERIAL NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "measure_id" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "request" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "rows_total" INTEGER,
    "rows_written" INTEGER NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "file_name" TEXT,
    "content_type" TEXT,
    "error" TEXT,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "report_exports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "report_export_chunks" (
    "export_id" BIGINT NOT NULL,
    "chunk_no" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "report_export_chunks_pkey" PRIMARY KEY ("export_id","chunk_no")
);

-- CreateIndex
CREATE INDEX "report_cases_measure_id_case_date_source_patient_id_course__idx" ON "report_cases"("measure_id", "case_date", "source", "patient_id", "course_index", "item", "case_no");

-- CreateIndex
CREATE INDEX "report_notes_measure_id_idx" ON "report_notes"("measure_id");

-- CreateIndex
CREATE INDEX "report_exports_actor_created_at_idx" ON "report_exports"("actor", "created_at");

-- Hand-written: report rows sort and compare bytewise (COLLATE "C"), as lib/reports/compute.ts orders its patient
-- lists by code point, so the SQL reports list cases in the same order as the pure computation.
ALTER TABLE "report_cases"
  ALTER COLUMN "source" TYPE TEXT COLLATE "C",
  ALTER COLUMN "patient_id" TYPE TEXT COLLATE "C",
  ALTER COLUMN "measure_id" TYPE TEXT COLLATE "C",
  ALTER COLUMN "case_date" TYPE TEXT COLLATE "C",
  ALTER COLUMN "stratum" TYPE TEXT COLLATE "C",
  ALTER COLUMN "item" TYPE TEXT COLLATE "C";
ALTER TABLE "report_notes"
  ALTER COLUMN "source" TYPE TEXT COLLATE "C",
  ALTER COLUMN "patient_id" TYPE TEXT COLLATE "C";
