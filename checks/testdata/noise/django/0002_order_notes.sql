BEGIN;
--
-- Add field notes to order
--
ALTER TABLE "shop_order" ADD COLUMN "notes" text DEFAULT '' NOT NULL;
ALTER TABLE "shop_order" ALTER COLUMN "notes" DROP DEFAULT;
--
-- Add field shipped_at to order
--
ALTER TABLE "shop_order" ADD COLUMN "shipped_at" timestamp with time zone NULL;
COMMIT;
