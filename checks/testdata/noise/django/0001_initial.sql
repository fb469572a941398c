BEGIN;
--
-- Create model Customer
--
CREATE TABLE "shop_customer" ("id" serial NOT NULL PRIMARY KEY, "email" varchar(254) NOT NULL UNIQUE, "name" varchar(100) NOT NULL, "created" timestamp with time zone NOT NULL, "meta" jsonb NOT NULL);
--
-- Create model Product
--
CREATE TABLE "shop_product" ("id" serial NOT NULL PRIMARY KEY, "sku" varchar(32) NOT NULL UNIQUE, "title" varchar(200) NOT NULL, "price" numeric(10, 2) NOT NULL, "active" boolean NOT NULL);
--
-- Create model Order
--
CREATE TABLE "shop_order" ("id" serial NOT NULL PRIMARY KEY, "status" varchar(16) NOT NULL, "placed" timestamp with time zone NOT NULL, "customer_id" integer NOT NULL);
CREATE TABLE "shop_orderline" ("id" serial NOT NULL PRIMARY KEY, "quantity" integer NOT NULL CHECK ("quantity" >= 0), "order_id" integer NOT NULL, "product_id" integer NOT NULL);
CREATE TABLE "shop_product_tags" ("id" serial NOT NULL PRIMARY KEY, "product_id" integer NOT NULL, "tag_id" integer NOT NULL);
CREATE TABLE "shop_tag" ("id" serial NOT NULL PRIMARY KEY, "name" varchar(50) NOT NULL UNIQUE);
ALTER TABLE "shop_order" ADD CONSTRAINT "shop_order_customer_id_1b2c3d4e_fk_shop_customer_id" FOREIGN KEY ("customer_id") REFERENCES "shop_customer" ("id") DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX "shop_order_customer_id_1b2c3d4e" ON "shop_order" ("customer_id");
ALTER TABLE "shop_orderline" ADD CONSTRAINT "shop_orderline_order_id_5a6b7c8d_fk_shop_order_id" FOREIGN KEY ("order_id") REFERENCES "shop_order" ("id") DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE "shop_orderline" ADD CONSTRAINT "shop_orderline_product_id_9e8f7a6b_fk_shop_product_id" FOREIGN KEY ("product_id") REFERENCES "shop_product" ("id") DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX "shop_orderline_order_id_5a6b7c8d" ON "shop_orderline" ("order_id");
CREATE INDEX "shop_orderline_product_id_9e8f7a6b" ON "shop_orderline" ("product_id");
CREATE INDEX "shop_customer_email_0c1d2e3f_like" ON "shop_customer" ("email" varchar_pattern_ops);
COMMIT;
