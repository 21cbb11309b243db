/**
 * What other sessions of the source database are doing, read before a run's
 * snapshot is taken: the oldest open transaction (the window must stay below
 * it), and the tables' change counters, which let an idle run prove that
 * nothing was written since the last run without reading the tables.
 *
 * NOTE: the counters (`pg_stat_user_tables.n_tup_ins/upd/del`) are not
 * transactional. Each session keeps its own counts and adds them to the
 * shared ones after it commits, at most once a second: while it stays busy
 * they can lag a commit by up to a minute, and once it is idle it adds them
 * within 10 s (PostgreSQL 15 and later: PGSTAT_IDLE_INTERVAL). So equal
 * counters prove "nothing written" only when every other session of the
 * database has been idle for longer than that (`quiet`); they start from
 * zero after a restart without a clean shutdown or pg_stat_reset(), so the
 * mark names the database (a copy made with CREATE DATABASE ... TEMPLATE
 * has the same table oids and starts from zero counts, but a new oid), the
 * server's start and the database's last stats reset (a
 * backend crash resets them without changing either: the rows it wrote wait
 * for the next counted write, see docs/performance-idle-cycle.md);
 * and they mean nothing with track_counts off, or before PostgreSQL 15
 * (its statistics collector could drop counts under load).
 */
import type pg from 'pg'
import type { OpenTransactions, SourceActivity } from '../source.js'

/** An idle session adds its pending counts within 10 s; a margin for a slow timer on a loaded server. */
export const QUIET_AFTER_MS = 20_000

/**
 * Reads the start of the oldest open transaction in the database. An
 * application that stamps last_updated with now() writes its transaction's
 * start, and the row becomes visible only at commit: the window must stay
 * below it. NOTE: call this before the snapshot is taken, so that a
 * transaction committing in between is visible to the snapshot instead of
 * slipping past both.
 */
export async function readOpenTransactions(client: pg.ClientBase): Promise<OpenTransactions> {
  const result = await client.query<{ bound: string | null; age_ms: string | null; sees_all: boolean }>(
    `WITH open_tx AS (
       SELECT min(xact_start) AS started FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
          AND backend_type = 'client backend')
     SELECT to_char(date_trunc('milliseconds', started::timestamp) - interval '1 millisecond', 'YYYY-MM-DD HH24:MI:SS.MS') AS bound,
            (extract(epoch FROM clock_timestamp() - started) * 1000)::bigint::text AS age_ms,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
              OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_all
       FROM open_tx`,
  )
  const row = result.rows[0]
  return {
    bound: row?.bound ?? null,
    ...(row?.age_ms == null ? {} : { oldestAgeMs: Number(row.age_ms) }),
    seesAllSessions: row?.sees_all ?? false,
  }
}

/**
 * The change counters of `tables` (in `schema`) as one mark, and whether the
 * database is quiet. Undefined where counters cannot vouch for anything:
 * track_counts off, PostgreSQL before 15, a standby (replaying the
 * primary's writes moves no counter, and the replay is no session), or a
 * table that is not a plain table without children (a view or a partitioned
 * table has no counters of its own; rows written into an inheritance child
 * count against the child, yet `FROM parent` reads them). NOTE:
 * read before the snapshot, as the open transactions are: a commit after
 * this read is then either in the snapshot or counted against the next
 * run's mark, never counted here and missed by the snapshot.
 */
export async function readSourceActivity(client: pg.ClientBase, schema: string, tables: readonly string[]): Promise<SourceActivity | undefined> {
  const result = await client.query<{ usable: boolean; mark: string | null; quiet: boolean }>(
    `WITH wanted AS (SELECT name, n FROM unnest($2::text[]) WITH ORDINALITY AS w (name, n)),
          counted AS (
            SELECT w.n, s.relid, concat_ws(':', s.relid, s.n_tup_ins, s.n_tup_upd, s.n_tup_del) AS counters
              FROM wanted w
              LEFT JOIN (pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid AND c.relkind = 'r' AND NOT c.relhassubclass)
                ON s.schemaname = $1 AND s.relname = w.name)
     SELECT current_setting('track_counts')::boolean AND current_setting('server_version_num')::int >= 150000 AND NOT pg_is_in_recovery()
              AND (SELECT bool_and(relid IS NOT NULL) FROM counted) AS usable,
            concat_ws(';', 'v1', (SELECT oid FROM pg_database WHERE datname = current_database()), pg_postmaster_start_time(),
              (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
              (SELECT string_agg(counters, ',' ORDER BY n) FROM counted)) AS mark,
            NOT EXISTS (
              SELECT 1 FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()
                 AND (state IS DISTINCT FROM 'idle' OR state_change IS NULL
                      OR state_change > clock_timestamp() - make_interval(secs => $3::double precision / 1000))) AS quiet`,
    [schema, tables, QUIET_AFTER_MS],
  )
  const row = result.rows[0]
  if (!row?.usable || row.mark === null) return undefined
  return { mark: row.mark, quiet: row.quiet }
}
