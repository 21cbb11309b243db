CREATE SCHEMA IF NOT EXISTS "star";

CREATE TABLE IF NOT EXISTS "star"."dim_counterparty" (
  "counterparty_id" integer NOT NULL,
  "counterparty_legal_name" varchar(65535) NOT NULL,
  "counterparty_legal_address_line_1" varchar(65535) NOT NULL,
  "counterparty_legal_address_line_2" varchar(65535),
  "counterparty_legal_district" varchar(65535),
  "counterparty_legal_city" varchar(65535) NOT NULL,
  "counterparty_legal_postal_code" varchar(65535) NOT NULL,
  "counterparty_legal_country" varchar(65535) NOT NULL,
  "counterparty_legal_phone_number" varchar(65535) NOT NULL,
  PRIMARY KEY ("counterparty_id")
) DISTSTYLE ALL SORTKEY ("counterparty_id");

CREATE TABLE IF NOT EXISTS "star"."dim_currency" (
  "currency_id" integer NOT NULL,
  "currency_code" varchar(65535) NOT NULL,
  "currency_name" varchar(65535) NOT NULL,
  PRIMARY KEY ("currency_id")
) DISTSTYLE ALL SORTKEY ("currency_id");

CREATE TABLE IF NOT EXISTS "star"."dim_date" (
  "date_id" date NOT NULL,
  "year" integer NOT NULL,
  "month" integer NOT NULL,
  "day" integer NOT NULL,
  "day_of_week" integer NOT NULL,
  "day_name" varchar(65535) NOT NULL,
  "month_name" varchar(65535) NOT NULL,
  "quarter" integer NOT NULL,
  PRIMARY KEY ("date_id")
) DISTSTYLE ALL SORTKEY ("date_id");

CREATE TABLE IF NOT EXISTS "star"."dim_design" (
  "design_id" integer NOT NULL,
  "design_name" varchar(65535) NOT NULL,
  "file_location" varchar(65535) NOT NULL,
  "file_name" varchar(65535) NOT NULL,
  PRIMARY KEY ("design_id")
) DISTSTYLE ALL SORTKEY ("design_id");

CREATE TABLE IF NOT EXISTS "star"."dim_location" (
  "location_id" integer NOT NULL,
  "address_line_1" varchar(65535) NOT NULL,
  "address_line_2" varchar(65535),
  "district" varchar(65535),
  "city" varchar(65535) NOT NULL,
  "postal_code" varchar(65535) NOT NULL,
  "country" varchar(65535) NOT NULL,
  "phone" varchar(65535) NOT NULL,
  PRIMARY KEY ("location_id")
) DISTSTYLE ALL SORTKEY ("location_id");

CREATE TABLE IF NOT EXISTS "star"."dim_payment_type" (
  "payment_type_id" integer NOT NULL,
  "payment_type_name" varchar(65535) NOT NULL,
  PRIMARY KEY ("payment_type_id")
) DISTSTYLE ALL SORTKEY ("payment_type_id");

CREATE TABLE IF NOT EXISTS "star"."dim_staff" (
  "staff_id" integer NOT NULL,
  "first_name" varchar(65535) NOT NULL,
  "last_name" varchar(65535) NOT NULL,
  "department_name" varchar(65535) NOT NULL,
  "location" varchar(65535) NOT NULL,
  "email_address" varchar(65535) NOT NULL,
  PRIMARY KEY ("staff_id")
) DISTSTYLE ALL SORTKEY ("staff_id");

CREATE TABLE IF NOT EXISTS "star"."dim_transaction" (
  "transaction_id" integer NOT NULL,
  "transaction_type" varchar(65535) NOT NULL,
  "sales_order_id" integer,
  "purchase_order_id" integer,
  PRIMARY KEY ("transaction_id")
) DISTSTYLE ALL SORTKEY ("transaction_id");

CREATE TABLE IF NOT EXISTS "star"."fact_payment" (
  "payment_record_id" bigint NOT NULL,
  "payment_id" integer NOT NULL,
  "created_date" date NOT NULL,
  "created_time" time NOT NULL,
  "last_updated_date" date NOT NULL,
  "last_updated_time" time NOT NULL,
  "transaction_id" integer NOT NULL,
  "counterparty_id" integer NOT NULL,
  "payment_amount" numeric(10,2) NOT NULL,
  "currency_id" integer NOT NULL,
  "payment_type_id" integer NOT NULL,
  "paid" boolean NOT NULL,
  "payment_date" date NOT NULL,
  PRIMARY KEY ("payment_record_id"),
  FOREIGN KEY ("created_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("last_updated_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("transaction_id") REFERENCES "star"."dim_transaction" ("transaction_id"),
  FOREIGN KEY ("counterparty_id") REFERENCES "star"."dim_counterparty" ("counterparty_id"),
  FOREIGN KEY ("currency_id") REFERENCES "star"."dim_currency" ("currency_id"),
  FOREIGN KEY ("payment_type_id") REFERENCES "star"."dim_payment_type" ("payment_type_id"),
  FOREIGN KEY ("payment_date") REFERENCES "star"."dim_date" ("date_id")
) DISTKEY ("payment_id") SORTKEY ("last_updated_date", "last_updated_time", "payment_id");

CREATE TABLE IF NOT EXISTS "star"."_starline_held_fact_payment" (
  "payment_id" integer,
  "created_date" date,
  "created_time" time,
  "last_updated_date" date,
  "last_updated_time" time,
  "transaction_id" integer,
  "counterparty_id" integer,
  "payment_amount" numeric(10,2),
  "currency_id" integer,
  "payment_type_id" integer,
  "paid" boolean,
  "payment_date" date,
  "held_since_run" varchar(64) NOT NULL
);

CREATE OR REPLACE VIEW "star"."fact_payment_current" AS SELECT "payment_record_id", "payment_id", "created_date", "created_time", "last_updated_date", "last_updated_time", "transaction_id", "counterparty_id", "payment_amount", "currency_id", "payment_type_id", "paid", "payment_date" FROM (SELECT "payment_record_id", "payment_id", "created_date", "created_time", "last_updated_date", "last_updated_time", "transaction_id", "counterparty_id", "payment_amount", "currency_id", "payment_type_id", "paid", "payment_date", row_number() OVER (PARTITION BY "payment_id" ORDER BY "last_updated_date" DESC, "last_updated_time" DESC, "payment_id" DESC, "payment_record_id" DESC) AS "_starline_rank" FROM "star"."fact_payment") AS "ranked" WHERE "_starline_rank" = 1;

CREATE TABLE IF NOT EXISTS "star"."fact_purchase_order" (
  "purchase_record_id" bigint NOT NULL,
  "purchase_order_id" integer NOT NULL,
  "created_date" date NOT NULL,
  "created_time" time NOT NULL,
  "last_updated_date" date NOT NULL,
  "last_updated_time" time NOT NULL,
  "staff_id" integer NOT NULL,
  "counterparty_id" integer NOT NULL,
  "item_code" varchar(65535) NOT NULL,
  "item_quantity" integer NOT NULL,
  "item_unit_price" numeric(10,2) NOT NULL,
  "currency_id" integer NOT NULL,
  "agreed_delivery_date" date NOT NULL,
  "agreed_payment_date" date NOT NULL,
  "agreed_delivery_location_id" integer NOT NULL,
  PRIMARY KEY ("purchase_record_id"),
  FOREIGN KEY ("created_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("last_updated_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("staff_id") REFERENCES "star"."dim_staff" ("staff_id"),
  FOREIGN KEY ("counterparty_id") REFERENCES "star"."dim_counterparty" ("counterparty_id"),
  FOREIGN KEY ("currency_id") REFERENCES "star"."dim_currency" ("currency_id"),
  FOREIGN KEY ("agreed_delivery_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("agreed_payment_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("agreed_delivery_location_id") REFERENCES "star"."dim_location" ("location_id")
) DISTKEY ("purchase_order_id") SORTKEY ("last_updated_date", "last_updated_time", "purchase_order_id");

CREATE TABLE IF NOT EXISTS "star"."_starline_held_fact_purchase_order" (
  "purchase_order_id" integer,
  "created_date" date,
  "created_time" time,
  "last_updated_date" date,
  "last_updated_time" time,
  "staff_id" integer,
  "counterparty_id" integer,
  "item_code" varchar(65535),
  "item_quantity" integer,
  "item_unit_price" numeric(10,2),
  "currency_id" integer,
  "agreed_delivery_date" date,
  "agreed_payment_date" date,
  "agreed_delivery_location_id" integer,
  "held_since_run" varchar(64) NOT NULL
);

CREATE OR REPLACE VIEW "star"."fact_purchase_order_current" AS SELECT "purchase_record_id", "purchase_order_id", "created_date", "created_time", "last_updated_date", "last_updated_time", "staff_id", "counterparty_id", "item_code", "item_quantity", "item_unit_price", "currency_id", "agreed_delivery_date", "agreed_payment_date", "agreed_delivery_location_id" FROM (SELECT "purchase_record_id", "purchase_order_id", "created_date", "created_time", "last_updated_date", "last_updated_time", "staff_id", "counterparty_id", "item_code", "item_quantity", "item_unit_price", "currency_id", "agreed_delivery_date", "agreed_payment_date", "agreed_delivery_location_id", row_number() OVER (PARTITION BY "purchase_order_id" ORDER BY "last_updated_date" DESC, "last_updated_time" DESC, "purchase_order_id" DESC, "purchase_record_id" DESC) AS "_starline_rank" FROM "star"."fact_purchase_order") AS "ranked" WHERE "_starline_rank" = 1;

CREATE TABLE IF NOT EXISTS "star"."fact_sales_order" (
  "sales_record_id" bigint NOT NULL,
  "sales_order_id" integer NOT NULL,
  "created_date" date NOT NULL,
  "created_time" time NOT NULL,
  "last_updated_date" date NOT NULL,
  "last_updated_time" time NOT NULL,
  "sales_staff_id" integer NOT NULL,
  "counterparty_id" integer NOT NULL,
  "units_sold" integer NOT NULL,
  "unit_price" numeric(10,2) NOT NULL,
  "currency_id" integer NOT NULL,
  "design_id" integer NOT NULL,
  "agreed_payment_date" date NOT NULL,
  "agreed_delivery_date" date NOT NULL,
  "agreed_delivery_location_id" integer NOT NULL,
  PRIMARY KEY ("sales_record_id"),
  FOREIGN KEY ("created_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("last_updated_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("sales_staff_id") REFERENCES "star"."dim_staff" ("staff_id"),
  FOREIGN KEY ("counterparty_id") REFERENCES "star"."dim_counterparty" ("counterparty_id"),
  FOREIGN KEY ("currency_id") REFERENCES "star"."dim_currency" ("currency_id"),
  FOREIGN KEY ("design_id") REFERENCES "star"."dim_design" ("design_id"),
  FOREIGN KEY ("agreed_payment_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("agreed_delivery_date") REFERENCES "star"."dim_date" ("date_id"),
  FOREIGN KEY ("agreed_delivery_location_id") REFERENCES "star"."dim_location" ("location_id")
) DISTKEY ("sales_order_id") SORTKEY ("last_updated_date", "last_updated_time", "sales_order_id");

CREATE TABLE IF NOT EXISTS "star"."_starline_held_fact_sales_order" (
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
  "agreed_delivery_location_id" integer,
  "held_since_run" varchar(64) NOT NULL
);

CREATE OR REPLACE VIEW "star"."fact_sales_order_current" AS SELECT "sales_record_id", "sales_order_id", "created_date", "created_time", "last_updated_date", "last_updated_time", "sales_staff_id", "counterparty_id", "units_sold", "unit_price", "currency_id", "design_id", "agreed_payment_date", "agreed_delivery_date", "agreed_delivery_location_id" FROM (SELECT "sales_record_id", "sales_order_id", "created_date", "created_time", "last_updated_date", "last_updated_time", "sales_staff_id", "counterparty_id", "units_sold", "unit_price", "currency_id", "design_id", "agreed_payment_date", "agreed_delivery_date", "agreed_delivery_location_id", row_number() OVER (PARTITION BY "sales_order_id" ORDER BY "last_updated_date" DESC, "last_updated_time" DESC, "sales_order_id" DESC, "sales_record_id" DESC) AS "_starline_rank" FROM "star"."fact_sales_order") AS "ranked" WHERE "_starline_rank" = 1;

CREATE TABLE IF NOT EXISTS "star"."_starline_loads" (
  "run_id" varchar(64) NOT NULL,
  "dataset" varchar(256) NOT NULL,
  "manifest_sha256" varchar(64) NOT NULL,
  "rows" bigint NOT NULL,
  "status" varchar(32) NOT NULL,
  "loaded_at" timestamptz NOT NULL,
  PRIMARY KEY ("run_id")
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS "star"."_starline_load_tables" (
  "run_id" varchar(64) NOT NULL REFERENCES "star"."_starline_loads" ("run_id"),
  "table_name" varchar(127) NOT NULL,
  "rows" bigint NOT NULL,
  "inserted" bigint NOT NULL,
  "updated" bigint NOT NULL,
  "held" bigint NOT NULL,
  PRIMARY KEY ("run_id", "table_name")
) DISTSTYLE ALL;
