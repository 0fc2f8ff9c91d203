-- CreateTable
CREATE TABLE "cds_jti" (
    "iss" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "cds_jti_pkey" PRIMARY KEY ("iss","jti")
);

-- CreateTable
CREATE TABLE "cds_cards" (
    "uuid" TEXT NOT NULL,
    "service_id" TEXT NOT NULL,
    "rule_ids" TEXT[],
    "indicator" TEXT NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "client" TEXT NOT NULL,

    CONSTRAINT "cds_cards_pkey" PRIMARY KEY ("uuid")
);

-- CreateTable
CREATE TABLE "cds_feedback" (
    "id" BIGSERIAL NOT NULL,
    "card_uuid" TEXT NOT NULL,
    "service_id" TEXT NOT NULL,
    "rule_id" TEXT,
    "outcome" TEXT NOT NULL,
    "override_code" TEXT,
    "override_display" TEXT,
    "accepted_suggestions" TEXT[],
    "outcome_timestamp" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "client" TEXT NOT NULL,

    CONSTRAINT "cds_feedback_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "cds_jti_expires_at_idx" ON "cds_jti"("expires_at");

-- CreateIndex
CREATE INDEX "cds_cards_issued_at_idx" ON "cds_cards"("issued_at");

-- CreateIndex
CREATE INDEX "cds_feedback_rule_id_outcome_idx" ON "cds_feedback"("rule_id", "outcome");

-- CreateIndex
CREATE INDEX "cds_feedback_card_uuid_idx" ON "cds_feedback"("card_uuid");
