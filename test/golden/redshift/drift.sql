SELECT table_name FROM information_schema.tables WHERE table_schema = :schema;
-- params: {"schema":"star"}

SELECT column_name FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table AND column_name = 'last_record_id';
-- params: {"schema":"star","table":"_starline_load_tables"}

SELECT CAST(cl.relname AS varchar) AS table_name, CAST(c.conname AS varchar) AS constraint_name, CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'FOREIGN KEY' END AS constraint_type, CAST(a.attname AS varchar) AS column_name, CAST(rc.relname AS varchar) AS referenced FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class cl ON cl.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) LEFT JOIN pg_catalog.pg_class rc ON rc.oid = c.confrelid WHERE n.nspname = :schema AND c.contype IN ('p', 'f');
-- params: {"schema":"star"}

SELECT CAST(count(*) AS varchar) AS "n" FROM "star"."_starline_loads";

SELECT s.table_name, CAST(s.inserted AS VARCHAR) AS inserted, CAST(l.held AS VARCHAR) AS held, CAST(NULL AS VARCHAR) AS last_record_id FROM (SELECT table_name, sum(inserted) AS inserted, max(run_id) AS last_run FROM "star"."_starline_load_tables" GROUP BY table_name) s JOIN "star"."_starline_load_tables" l ON l.table_name = s.table_name AND l.run_id = s.last_run;

SELECT CAST(:name_0 AS varchar) AS "relation", CAST(count(*) AS varchar) AS "rows", CAST(0 AS varchar) AS "max_id" FROM "star"."dim_staff" UNION ALL SELECT CAST(:name_1 AS varchar) AS "relation", CAST(count(*) AS varchar) AS "rows", CAST(coalesce(max("payment_record_id"), 0) AS varchar) AS "max_id" FROM "star"."fact_payment" UNION ALL SELECT CAST(:name_2 AS varchar) AS "relation", CAST(count(*) AS varchar) AS "rows", CAST(0 AS varchar) AS "max_id" FROM "star"."_starline_held_fact_payment";
-- params: {"name_0":"dim_staff","name_1":"fact_payment","name_2":"_starline_held_fact_payment"}
