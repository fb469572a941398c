-- AlterTable
ALTER TABLE "users" ADD COLUMN "email" TEXT;

-- CreateIndex
CREATE INDEX CONCURRENTLY "users_email_idx" ON "users"("email");
