BEGIN;
ALTER TABLE "shop_customer" ADD COLUMN "phone" varchar(32) NULL;
CREATE INDEX "shop_customer_phone_4d5e6f70" ON "shop_customer" ("phone");
CREATE INDEX "shop_customer_phone_4d5e6f70_like" ON "shop_customer" ("phone" varchar_pattern_ops);
COMMIT;
