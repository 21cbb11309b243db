import { StarlineError } from '../core/starline-error.js'

export class WarehouseError extends StarlineError {}

export class WarehouseUnreachableError extends WarehouseError {}

/** An existing warehouse table lacks a column, or has it with another type. */
export class WarehouseSchemaMismatchError extends WarehouseError {}

/** The data did not load: a constraint, a type, a count that did not match. */
export class WarehouseLoadError extends WarehouseError {}

/**
 * A Parquet load was planned from a ledger row that another load changed
 * before this one took its lock (two overlapping events): nothing was
 * loaded, and planning again from the new ledger row is safe.
 */
export class LoaderLedgerChangedError extends WarehouseError {
  constructor(schema: string, table: string) {
    super(
      `Table "${schema}"."${table}": another load changed its ledger row while this one was planned (overlapping events). ` +
        'Nothing was loaded; run again to load only what is still new.',
      { retryable: true, context: { table } },
    )
  }
}

/**
 * What to do when a load would add a fact version the warehouse already
 * holds (the unique version key refused it): nothing was loaded.
 */
/** A dimension's rows in one run repeat a key: the run's data is at fault, not the ledger. */
export const DUPLICATE_KEY_ADVICE =
  " The run's rows for this dimension repeat a key, so nothing of the run was loaded: its transform wrote more than one row per key. " +
  'Make the model give one row per key (check its joins), then transform again so a new processed run replaces this one.'

/** Which advice a duplicate-key failure gets: it depends on the kind of table being loaded. */
export function duplicateAdvice(kind: 'dimension' | 'fact' | undefined): string {
  return kind === 'dimension' ? DUPLICATE_KEY_ADVICE : kind === 'fact' ? DUPLICATE_VERSION_ADVICE : ''
}

export const DUPLICATE_VERSION_ADVICE =
  ' The warehouse already holds these fact versions, so nothing of the run was loaded: its ledger was emptied or edited, or the lake holds the same rows twice. ' +
  'Restore the ledger tables (_starline_loads, _starline_load_tables) from a backup, or load the lake into an empty schema.'
