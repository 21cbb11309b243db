DROP TABLE IF EXISTS "star"."_starline_stage_20241119t093000z_fact_sales_order";

CREATE TABLE "star"."_starline_stage_20241119t093000z_fact_sales_order" (
  "sales_order_id" integer,
  "created_date" date,
  "created_time" time,
  "last_updated_date" date,
  "last_updated_time" time,
  "sales_staff_id" integer,
  "counterparty_id" integer,
  "units_sold" integer,
  "unit_price" numeric(10,2),
  "currency_id" integer,
  "design_id" integer,
  "agreed_payment_date" date,
  "agreed_delivery_date" date,
  "agreed_delivery_location_id" integer
) BACKUP NO DISTKEY ("sales_order_id");

COPY "star"."_starline_stage_20241119t093000z_fact_sales_order" FROM 's3://lake-bucket/processed/_copy/20241119T093000Z/fact_sales_order.manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/starline-copy' FORMAT AS PARQUET MANIFEST;
