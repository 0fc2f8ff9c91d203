-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "content_hash" TEXT;
