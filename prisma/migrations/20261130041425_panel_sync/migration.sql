-- DropIndex
DROP INDEX "fhir_resources_source_patient_id_idx";

-- DropIndex
DROP INDEX "evaluations_drug_idx";

-- DropIndex
DROP INDEX "evaluations_source_patient_id_as_of_rules_version_key";

-- AlterTable
ALTER TABLE "fhir_resources" DROP CONSTRAINT "fhir_resources_pkey",
ADD COLUMN     "content_hash" TEXT NOT NULL,
ADD COLUMN     "deleted" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "version_id" TEXT,
ALTER COLUMN "patient_id" SET NOT NULL,
ALTER COLUMN "patient_id" SET DEFAULT '',
ADD CONSTRAINT "fhir_resources_pkey" PRIMARY KEY ("source", "patient_id", "resource_type", "id");

-- AlterTable
ALTER TABLE "patients" ADD COLUMN     "data_changed_at" TIMESTAMPTZ(3),
ADD COLUMN     "dirty" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "evaluated_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "evaluations" DROP CONSTRAINT "evaluations_pkey",
DROP COLUMN "id",
ADD COLUMN     "birth_date" TEXT,
ADD COLUMN     "course_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "course_end" TEXT,
ADD COLUMN     "course_index" INTEGER,
ADD COLUMN     "course_start" TEXT,
ADD COLUMN     "course_week" INTEGER,
ADD COLUMN     "data_quality_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "flag_counts" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "flag_kinds" TEXT[],
ADD COLUMN     "flags_critical" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "flags_info" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "flags_warning" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "labs_abnormal" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "labs_due" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "labs_missing" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "labs_overdue" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "latest_checkpoint_week" INTEGER,
ADD COLUMN     "latest_verdict" TEXT,
ADD COLUMN     "max_severity" TEXT,
ADD COLUMN     "next_due_date" TEXT,
ADD COLUMN     "next_due_kind" TEXT,
ADD COLUMN     "on_jak" BOOLEAN NOT NULL,
ADD COLUMN     "patient_name" TEXT,
ADD COLUMN     "prescriber" TEXT,
ADD COLUMN     "route" TEXT,
ADD COLUMN     "sex" TEXT,
ADD CONSTRAINT "evaluations_pkey" PRIMARY KEY ("source", "patient_id");

-- AlterTable
ALTER TABLE "sync_runs" DROP COLUMN "resource_count",
ADD COLUMN     "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "counts" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "error_hint" TEXT,
ADD COLUMN     "heartbeat_at" TIMESTAMPTZ(3),
ADD COLUMN     "job_id" TEXT,
ADD COLUMN     "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
ADD COLUMN     "progress_text" TEXT,
ADD COLUMN     "requested_by" TEXT,
ADD COLUMN     "timings" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "transaction_time" TIMESTAMPTZ(3),
ADD COLUMN     "trigger" TEXT NOT NULL DEFAULT 'manual';

-- CreateTable
CREATE TABLE "sources" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "fhir_base" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "group_id" TEXT,
    "export_level" TEXT NOT NULL DEFAULT 'group',
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "last_transaction_time" TIMESTAMPTZ(3),
    "last_success_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluation_checkpoints" (
    "source" TEXT NOT NULL,
    "patient_id" TEXT NOT NULL,
    "course_index" INTEGER NOT NULL,
    "week" INTEGER NOT NULL,
    "drug" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "course_start" TEXT NOT NULL,
    "window_start" TEXT NOT NULL,
    "window_end" TEXT NOT NULL,
    "verdict" TEXT NOT NULL,
    "easi_status" TEXT,
    "easi_baseline" DOUBLE PRECISION,
    "easi_value" DOUBLE PRECISION,
    "easi_percent" DOUBLE PRECISION,
    "easi_band" TEXT,
    "iga_criterion" TEXT,
    "iga_status" TEXT,
    "iga_baseline" DOUBLE PRECISION,
    "iga_value" DOUBLE PRECISION,
    "itch_status" TEXT,
    "itch_baseline" DOUBLE PRECISION,
    "itch_value" DOUBLE PRECISION,
    "pain_status" TEXT,
    "pain_baseline" DOUBLE PRECISION,
    "pain_value" DOUBLE PRECISION,

    CONSTRAINT "evaluation_checkpoints_pkey" PRIMARY KEY ("source","patient_id","course_index","week")
);

-- CreateTable
CREATE TABLE "evaluation_labs" (
    "source" TEXT NOT NULL,
    "patient_id" TEXT NOT NULL,
    "course_index" INTEGER NOT NULL,
    "requirement" TEXT NOT NULL,
    "drug" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "due_by" TEXT NOT NULL,
    "done_on" TEXT,

    CONSTRAINT "evaluation_labs_pkey" PRIMARY KEY ("source","patient_id","course_index","requirement")
);

-- CreateTable
CREATE TABLE "evaluation_flags" (
    "source" TEXT NOT NULL,
    "patient_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "rule_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "rule_source" TEXT NOT NULL,
    "resource" TEXT,
    "course_index" INTEGER,
    "requirement" TEXT,
    "week" INTEGER,

    CONSTRAINT "evaluation_flags_pkey" PRIMARY KEY ("source","patient_id","seq")
);

-- CreateTable
CREATE TABLE "sync_files" (
    "run_id" BIGINT NOT NULL,
    "url" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "lines" INTEGER NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "sync_files_pkey" PRIMARY KEY ("run_id","url")
);

-- CreateTable
CREATE TABLE "sync_issues" (
    "id" BIGSERIAL NOT NULL,
    "run_id" BIGINT NOT NULL,
    "source" TEXT NOT NULL,
    "file" TEXT,
    "line" INTEGER,
    "issue" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "raw" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sync_issues_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "evaluation_checkpoints_drug_week_idx" ON "evaluation_checkpoints"("drug", "week");

-- CreateIndex
CREATE INDEX "evaluation_labs_status_due_by_idx" ON "evaluation_labs"("status", "due_by");

-- CreateIndex
CREATE INDEX "evaluation_flags_kind_severity_idx" ON "evaluation_flags"("kind", "severity");

-- CreateIndex
CREATE INDEX "sync_issues_run_id_idx" ON "sync_issues"("run_id");

-- CreateIndex
CREATE INDEX "fhir_resources_source_resource_type_id_idx" ON "fhir_resources"("source", "resource_type", "id");

-- CreateIndex
CREATE INDEX "patients_source_dirty_idx" ON "patients"("source", "dirty");

-- CreateIndex
CREATE INDEX "evaluations_drug_route_idx" ON "evaluations"("drug", "route");

-- CreateIndex
CREATE INDEX "evaluations_latest_verdict_idx" ON "evaluations"("latest_verdict");

-- CreateIndex
CREATE INDEX "evaluations_next_due_date_idx" ON "evaluations"("next_due_date");

-- CreateIndex
CREATE INDEX "sync_runs_status_idx" ON "sync_runs"("status");
