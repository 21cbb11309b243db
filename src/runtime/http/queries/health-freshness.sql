-- Each warehouse table's last load, from the load ledger: the newest loaded
-- run that carried the table and how long ago it was loaded. A table a quiet
-- source leaves untouched ages without being stale: whether it is fresh is
-- the pipeline's lag against STARLINE_FRESHNESS_TARGET, which the server adds
-- (lag_seconds, freshness) as `starline status` computes it.
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
       runs,
       inserted,
       updated
  FROM per_table
 ORDER BY table_name
