BEGIN;
ALTER TABLE "shop_order" ADD COLUMN "reference" varchar(20) DEFAULT 'x' NOT NULL;
ALTER TABLE "shop_order" ALTER COLUMN "reference" DROP DEFAULT;
ALTER TABLE "shop_order" ADD CONSTRAINT "shop_order_reference_key" UNIQUE ("reference");
COMMIT;
