-- Hand-written (Prisma's schema language has no column collation): the key columns of the synced-resource and
-- patient tables compare bytewise (COLLATE "C"). Ids and codes have no linguistic order, and libc collations
-- make every index insert of a bulk ingest compare strings the slow way.
ALTER TABLE "fhir_resources"
  ALTER COLUMN "source" TYPE TEXT COLLATE "C",
  ALTER COLUMN "patient_id" TYPE TEXT COLLATE "C",
  ALTER COLUMN "resource_type" TYPE TEXT COLLATE "C",
  ALTER COLUMN "id" TYPE TEXT COLLATE "C";

ALTER TABLE "patients"
  ALTER COLUMN "source" TYPE TEXT COLLATE "C",
  ALTER COLUMN "id" TYPE TEXT COLLATE "C";
