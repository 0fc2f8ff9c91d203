-- AlterTable
ALTER TABLE "fhir_resources" ALTER COLUMN "resource" SET DATA TYPE JSON;
