BEGIN;
ALTER TABLE "shop_product" RENAME COLUMN "title" TO "name";
COMMIT;
