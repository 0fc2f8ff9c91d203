-- AlterTable
ALTER TABLE "patients" ADD COLUMN     "data_version" BIGSERIAL NOT NULL;

-- CreateTable
CREATE TABLE "prepared_patients" (
    "source" TEXT NOT NULL,
    "patient_id" TEXT NOT NULL,
    "data_version" BIGINT NOT NULL,
    "mappings_hash" TEXT NOT NULL,
    "prepared_version" INTEGER NOT NULL,
    "body" TEXT NOT NULL,

    CONSTRAINT "prepared_patients_pkey" PRIMARY KEY ("source","patient_id")
);

-- Hand-written (Prisma's schema language has no column collation): the key columns compare bytewise (COLLATE "C"),
-- as those of patients do: the evaluation joins them, and a join across collations cannot use the primary key.
ALTER TABLE "prepared_patients"
  ALTER COLUMN "source" TYPE TEXT COLLATE "C",
  ALTER COLUMN "patient_id" TYPE TEXT COLLATE "C";

-- Hand-written. prepared_patients is a cache derivable from fhir_resources: no WAL for it. After a crash PostgreSQL
-- empties an unlogged table; every patient then has no prepared row, takes the slow path (raw resources) on its next
-- evaluation, and the row is written again. Not replicated to standbys either: after a failover the same happens.
ALTER TABLE "prepared_patients" SET UNLOGGED;

-- The bodies are JSON text that compresses well: a larger toast_tuple_target keeps a typical body (compressed by the
-- server's default_toast_compression) in its row instead of the TOAST table. No column-level lz4: the embedded
-- PostgreSQL is built without it, and a dump from a server that has it would then not restore there (pg_restore
-- stops at SET COMPRESSION lz4); a server built with lz4 can make it the default for every table instead.
ALTER TABLE "prepared_patients" SET (toast_tuple_target = 4080);
