-- The last twenty loaded runs, newest first, from the load ledger, with the
-- fact rows each left held for a dimension that had not arrived yet.
WITH runs AS (
  SELECT run_id, dataset, rows, status, loaded_at
    FROM _starline_loads
   ORDER BY run_id DESC
   LIMIT 20
),
held AS (
  SELECT run_id, sum(held) AS held
    FROM _starline_load_tables
   GROUP BY run_id
)
SELECT r.run_id,
       r.dataset,
       r.status,
       r.rows,
       coalesce(h.held, 0) AS held,
       CAST(r.loaded_at AS varchar) AS loaded_at
  FROM runs r
  LEFT JOIN held h ON h.run_id = r.run_id
 ORDER BY r.run_id DESC
