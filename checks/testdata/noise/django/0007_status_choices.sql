BEGIN;
ALTER TABLE "shop_order" ALTER COLUMN "status" TYPE varchar(32);
ALTER TABLE "shop_orderline" ALTER COLUMN "quantity" DROP NOT NULL;
DROP TABLE "shop_product_tags" CASCADE;
DROP TABLE "shop_tag" CASCADE;
COMMIT;
