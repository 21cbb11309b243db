/**
 * `starline rebuild`'s swap on PostgreSQL: the lake was loaded into a build
 * schema; one transaction moves the target's starline objects aside, moves
 * the build's in (ALTER ... SET SCHEMA: no data is copied, keys, indexes and
 * serial sequences move with their tables) and drops the old ones. DDL is
 * transactional here, so a kill before COMMIT leaves the target as it was.
 * Other objects in the target schema are left alone.
 */
import type pg from 'pg'
import { sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import type { TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { WarehouseError } from '../errors.js'
import { sideSchemaName, starlineObjects } from '../table-ddl.js'
import { LEDGER_TABLE } from '../warehouse.js'

/** Call inside a transaction holding the target schema's load lock. */
export async function swapInBuild(client: pg.ClientBase, build: string, target: string, tables: readonly TableSpec[]): Promise<void> {
  await assertNoNewerLoads(client, build, target)
  const retired = sideSchemaName('starline_retired', target)
  const objects = starlineObjects(tables)
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(target)}`)
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(retired)} CASCADE`)
  await client.query(`CREATE SCHEMA ${quoteIdent(retired)}`)
  for (const o of objects) await client.query(`ALTER ${o.kind} IF EXISTS ${qualify(target, o.name)} SET SCHEMA ${quoteIdent(retired)}`)
  for (const o of objects) await client.query(`ALTER ${o.kind} ${qualify(build, o.name)} SET SCHEMA ${quoteIdent(target)}`)
  for (const o of objects) await copyGrants(client, qualify(retired, o.name), qualify(target, o.name))
  try {
    // No CASCADE: a view of the user's on an old table stops the swap instead of vanishing with it.
    for (const o of objects) await client.query(`DROP ${o.kind} IF EXISTS ${qualify(retired, o.name)}`)
  } catch (error) {
    if (sqlStateOf(error) !== '2BP01') throw error
    throw new WarehouseError(
      `Cannot replace the tables of schema "${target}": other objects depend on them (${String((error as { detail?: string }).detail ?? '').split('\n')[0]}). ` +
        'Nothing was changed. Drop those objects (and recreate them after the rebuild), then run `starline rebuild` again.',
      { cause: error, retryable: false },
    )
  }
  await client.query(`DROP SCHEMA ${quoteIdent(retired)}`)
  await client.query(`DROP SCHEMA ${quoteIdent(build)} CASCADE`)
}

/** A load that committed into the target while the rebuild ran would be lost by the swap: refuse instead. */
async function assertNoNewerLoads(client: pg.ClientBase, build: string, target: string): Promise<void> {
  const present = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualify(target, LEDGER_TABLE)])
  if (!present.rows[0]?.t) return
  const newer = await client.query<{ run_id: string }>(
    `SELECT run_id FROM ${qualify(target, LEDGER_TABLE)} t WHERE NOT EXISTS (SELECT 1 FROM ${qualify(build, LEDGER_TABLE)} b WHERE b.run_id = t.run_id) ORDER BY run_id LIMIT 1`,
  )
  const runId = newer.rows[0]?.run_id
  if (runId === undefined) return
  throw new WarehouseError(
    `Schema "${target}" holds run ${runId}, which the rebuilt tables lack: a load committed while the rebuild ran. Nothing was swapped; run \`starline rebuild\` again.`,
    { retryable: true, context: { runId } },
  )
}

/**
 * The privileges granted on an old table or view, granted on its rebuilt
 * successor: readers (a dashboard role, analysts) keep their access.
 */
async function copyGrants(client: pg.ClientBase, from: string, to: string): Promise<void> {
  const present = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [from])
  if (!present.rows[0]?.t) return
  const grants = await client.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE a.grantee::regrole::text END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`,
    [from],
  )
  for (const g of grants.rows) {
    // privilege_type is one of PostgreSQL's own keywords (SELECT, INSERT...); the grantee is a role name, quoted.
    if (!/^[A-Z ]+$/.test(g.privilege)) continue
    const grantee = g.grantee === null ? 'PUBLIC' : quoteIdent(g.grantee.replace(/^"(.*)"$/, '$1').replace(/""/g, '"'))
    await client.query(`GRANT ${g.privilege} ON ${to} TO ${grantee}${g.grantable ? ' WITH GRANT OPTION' : ''}`)
  }
}

/**
 * The first of `target`'s starline objects that someone changed by hand in a
 * way the swap would lose: another owner, comments, column privileges,
 * triggers, row security, indexes of their own, or privileges and comments on
 * the sequences the tables own (the swap keeps only table privileges).
 * Undefined when there is none. `build` holds the same objects as starline
 * makes them.
 */
export async function handMadeDifference(client: pg.ClientBase, build: string, target: string, tables: readonly TableSpec[]): Promise<string | undefined> {
  const commented = (alias: string) => `EXISTS (SELECT 1 FROM pg_description d WHERE d.objoid = ${alias}.oid AND d.classoid = 'pg_class'::regclass)`
  const result = await client.query<{ name: string }>(
    `SELECT t.relname::text AS name
       FROM pg_class t
       JOIN pg_namespace tn ON tn.oid = t.relnamespace AND tn.nspname = $1
       LEFT JOIN pg_class b ON b.relname = t.relname AND b.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $2)
      WHERE t.relname = ANY($3::text[]) AND (
            t.relowner IS DISTINCT FROM b.relowner OR t.relrowsecurity OR ${commented('t')}
         OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attacl IS NOT NULL)
         OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.oid AND NOT g.tgisinternal)
         OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid)
         OR (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.oid) > (SELECT count(*) FROM pg_index i WHERE i.indrelid = b.oid)
         OR EXISTS (SELECT 1 FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
                     WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = t.oid AND (s.relacl IS NOT NULL OR ${commented('s')})))
      ORDER BY 1 LIMIT 1`,
    [target, build, starlineObjects(tables).map((o) => o.name)],
  )
  return result.rows[0]?.name
}
