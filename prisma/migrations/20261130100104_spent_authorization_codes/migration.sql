-- CreateTable
CREATE TABLE "spent_authorization_codes" (
    "code_hash" TEXT NOT NULL,
    "spent_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "spent_authorization_codes_pkey" PRIMARY KEY ("code_hash")
);

-- CreateIndex
CREATE INDEX "spent_authorization_codes_expires_at_idx" ON "spent_authorization_codes"("expires_at");
