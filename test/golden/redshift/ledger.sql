LOCK "star"."_starline_loads";

INSERT INTO "star"."_starline_loads" ("run_id", "dataset", "manifest_sha256", "rows", "status", "loaded_at") VALUES (:run_id, :dataset, :manifest_sha256, :rows, 'loaded', CAST(:loaded_at AS timestamptz));
-- params: {"run_id":"20241119T093000Z","dataset":"totesys","manifest_sha256":"abababababababababababababababababababababababababababababababab","rows":42,"loaded_at":"2024-11-19 09:31:02.123+00"}

SELECT 1 / (CASE WHEN count(*) > 1 THEN 0 ELSE 1 END) AS "once" FROM "star"."_starline_loads" WHERE "run_id" = :run_id;
-- params: {"run_id":"20241119T093000Z"}

SELECT "run_id", "dataset", "manifest_sha256", "rows"::varchar AS "rows", "status", to_char("loaded_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "loaded_at" FROM "star"."_starline_loads" ORDER BY "run_id";

SELECT "table_name", "rows"::varchar AS "rows", "inserted"::varchar AS "inserted", "updated"::varchar AS "updated", "held"::varchar AS "held" FROM "star"."_starline_load_tables" WHERE "run_id" = :run_id;
-- params: {"run_id":"20241119T093000Z"}
