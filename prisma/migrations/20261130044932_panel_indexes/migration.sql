-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "next_checkpoint_date" TEXT;

-- AlterTable
ALTER TABLE "evaluation_checkpoints" ADD COLUMN     "after_course_end" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "computed_views" (
    "source" TEXT NOT NULL,
    "view" TEXT NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "body" JSONB NOT NULL,

    CONSTRAINT "computed_views_pkey" PRIMARY KEY ("source","view")
);

-- CreateIndex
CREATE INDEX "evaluations_on_jak_source_idx" ON "evaluations"("on_jak", "source");

-- CreateIndex
CREATE INDEX "evaluations_next_checkpoint_date_idx" ON "evaluations"("next_checkpoint_date");

-- CreateIndex
CREATE INDEX "evaluations_patient_name_idx" ON "evaluations"("patient_name");

-- CreateIndex
CREATE INDEX "evaluations_course_start_idx" ON "evaluations"("course_start");

-- CreateIndex
CREATE INDEX "evaluations_evaluated_at_idx" ON "evaluations"("evaluated_at");

-- CreateIndex
CREATE INDEX "evaluations_flag_kinds_idx" ON "evaluations" USING GIN ("flag_kinds");
