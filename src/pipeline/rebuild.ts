/**
 * `starline rebuild`: the recovery from warehouse drift. Every processed run
 * of the lake is loaded, in run order, into a fresh build schema (exactly as
 * a clean load into an empty warehouse would, record ids included), then the
 * engine swaps the build's tables in for the target's in one transaction
 * (Warehouse.replaceSchema). Until that commits the target is untouched: a
 * rebuild killed midway leaves the old warehouse, and the next rebuild
 * starts its build schema afresh. Engines with a schema lock
 * (Warehouse.lockSchema) hold the target's load lock throughout, so a load
 * or a second rebuild waits (within its bound) instead of interleaving.
 */
import { listRunIds } from '../lake/manifest.js'
import { sideSchemaName } from '../warehouse/table-ddl.js'
import type { LoadSummary } from '../schema/summaries.js'
import { retryStep, type StageContext } from './context.js'
import { PipelineError } from './errors.js'
import { assertSameLake, load, type LoadOptions } from './load.js'
import type { DriftFinding } from '../warehouse/warehouse.js'

export interface RebuildOptions extends LoadOptions {
  /** Only say what would be done: nothing is read beyond the lake's run list and the ledger. */
  readonly dryRun?: boolean
}

export interface RebuildSummary {
  readonly stage: 'rebuild'
  readonly schema: string
  /** Where the lake was loaded before the swap. */
  readonly buildSchema: string
  /** Processed runs in the lake: all of them are loaded. */
  readonly runs: number
  /** Runs the target's ledger had before the rebuild. */
  readonly previousRuns: number
  readonly dryRun: boolean
  /** How the warehouse differed from its ledger before the rebuild (empty: it did not). */
  readonly drift: readonly DriftFinding[]
  /** The load into the build schema (absent on a dry run). */
  readonly load?: LoadSummary
  readonly durationMs: number
}

/**
 * The build schema of `schema`: fixed, so a rebuild killed midway is cleared by the next one. A hash of the
 * schema rather than its name plus a suffix: cut to the engine's identifier limit, a long name would come back
 * as the target itself, and the build's DROP SCHEMA would remove the live warehouse.
 */
export function buildSchemaName(schema: string): string {
  return sideSchemaName('starline_rebuild', schema)
}

export async function rebuild(ctx: StageContext, options: RebuildOptions): Promise<RebuildSummary> {
  const started = Date.now()
  const { warehouse, schema } = options
  const buildSchema = buildSchemaName(schema)
  if (buildSchema === schema || sideSchemaName('starline_retired', schema) === schema) {
    throw new PipelineError(`The warehouse schema "${schema}" is named like rebuild's own side schemas; rebuild cannot use it. Choose another STARLINE_WAREHOUSE_SCHEMA.`)
  }
  if (!warehouse.replaceSchema || !warehouse.dropSchema) {
    throw new PipelineError(
      'This warehouse engine cannot rebuild (it cannot swap a schema in one transaction). ' +
        'Load the lake into an empty schema instead (STARLINE_WAREHOUSE_SCHEMA), then point readers at it.',
    )
  }
  // The target's load lock, held from the first read to the swap: no load and no other rebuild interleaves
  // (two rebuilds share the build schema). A dry run reads only, and takes none.
  const lock = options.dryRun ? undefined : await warehouse.lockSchema?.(schema, options.lockWaitMs === undefined ? {} : { waitMs: options.lockWaitMs })
  try {
    const runIds = await listRunIds(ctx.processed)
    const ledger = await retryStep(ctx, 'read the ledger', () => warehouse.loadedRuns(schema))
    // The lake must be the one that fed the warehouse: rebuilding from another would replace the warehouse with other data.
    await assertSameLake(ctx, ledger, runIds)
    const specs = ctx.dataset.models.map((m) => m.table)
    const drift = await retryStep(ctx, 'check the warehouse against its ledger', () => warehouse.checkAgainstLedger(schema, specs))
    const base = { stage: 'rebuild' as const, schema, buildSchema, runs: runIds.length, previousRuns: ledger.length, drift }
    if (options.dryRun) return { ...base, dryRun: true, durationMs: Date.now() - started }
    ctx.logger.info('rebuild: loading the lake into the build schema', { schema: buildSchema, runs: runIds.length })
    await retryStep(ctx, 'clear the build schema', () => warehouse.dropSchema!(buildSchema))
    const loaded = await load(ctx, { warehouse, schema: buildSchema })
    ctx.logger.info('rebuild: swapping the rebuilt tables in', { schema })
    if (lock === undefined) {
      await retryStep(ctx, 'swap the rebuilt tables in', () => warehouse.replaceSchema!(buildSchema, schema, specs))
    } else {
      // Not retried here: the lock retries a swap that provably did not happen, and reports one that may have.
      const { answerLost } = await lock.replaceSchema(buildSchema, specs)
      if (answerLost) ctx.logger.warn('rebuild: the answer to the swap was lost; read back, the swap had taken effect', { schema })
    }
    return { ...base, dryRun: false, load: loaded, durationMs: Date.now() - started }
  } finally {
    await lock?.release()
  }
}
