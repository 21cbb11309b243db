-- Freshness per warehouse table, from the load ledger: the newest loaded run
-- that carried the table, its age, and whether it is within the 30-minute
-- freshness requirement. A table a quiet source leaves untouched ages too.
WITH per_table AS (
  SELECT t.table_name,
         max(t.run_id) AS last_run_id,
         max(l.loaded_at) AS last_loaded_at,
         count(*) AS runs,
         sum(t.inserted) AS inserted,
         sum(t.updated) AS updated
    FROM _starline_load_tables t
    JOIN _starline_loads l ON l.run_id = t.run_id
   GROUP BY t.table_name
)
SELECT table_name,
       last_run_id,
       CAST(last_loaded_at AS varchar) AS last_loaded_at,
       CAST(floor(extract(epoch FROM (now() - last_loaded_at))) AS bigint) AS age_seconds,
       CASE WHEN now() - last_loaded_at <= INTERVAL '30 minutes' THEN 'fresh' ELSE 'stale' END AS freshness,
       runs,
       inserted,
       updated
  FROM per_table
 ORDER BY table_name
