-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "state" JSONB NOT NULL DEFAULT '{}',
    "tokens_enc" TEXT,
    "patient_id" TEXT,
    "practitioner_id" TEXT,
    "role" TEXT,
    "issuer" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "fhir_resources" (
    "source" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "patient_id" TEXT,
    "last_updated" TIMESTAMPTZ(3),
    "resource" JSONB NOT NULL,
    "sync_run_id" BIGINT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "fhir_resources_pkey" PRIMARY KEY ("source","resource_type","id")
);

-- CreateTable
CREATE TABLE "patients" (
    "source" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "birth_date" TEXT,
    "sex" TEXT,
    "display_name" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "patients_pkey" PRIMARY KEY ("source","id")
);

-- CreateTable
CREATE TABLE "evaluations" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "patient_id" TEXT NOT NULL,
    "as_of" TEXT NOT NULL,
    "rules_version" TEXT NOT NULL,
    "drug" TEXT,
    "result" JSONB NOT NULL,
    "evaluated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_runs" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "status_url" TEXT,
    "since" TIMESTAMPTZ(3),
    "resource_count" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "sync_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "role" TEXT,
    "action" TEXT NOT NULL,
    "entity" TEXT,
    "outcome" TEXT NOT NULL DEFAULT 'success',
    "detail" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "code_mappings" (
    "id" BIGSERIAL NOT NULL,
    "system" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "concept" TEXT NOT NULL,
    "display" TEXT,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "code_mappings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sessions_expires_at_idx" ON "sessions"("expires_at");

-- CreateIndex
CREATE INDEX "fhir_resources_source_patient_id_idx" ON "fhir_resources"("source", "patient_id");

-- CreateIndex
CREATE INDEX "evaluations_drug_idx" ON "evaluations"("drug");

-- CreateIndex
CREATE UNIQUE INDEX "evaluations_source_patient_id_as_of_rules_version_key" ON "evaluations"("source", "patient_id", "as_of", "rules_version");

-- CreateIndex
CREATE INDEX "sync_runs_source_started_at_idx" ON "sync_runs"("source", "started_at");

-- CreateIndex
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");

-- CreateIndex
CREATE INDEX "audit_events_action_at_idx" ON "audit_events"("action", "at");

-- CreateIndex
CREATE UNIQUE INDEX "code_mappings_system_code_key" ON "code_mappings"("system", "code");
