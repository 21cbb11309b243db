/**
 * What every stage receives: where the lake zones are, which dataset, how to
 * log, and a signal to stop early. Stages return summaries; they never print.
 */
import type { Dataset } from '../schema/dataset.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { Logger } from '../observe/logger.js'

export interface StageContext {
  readonly dataset: Dataset
  readonly ingestion: ObjectStore
  readonly processed: ObjectStore
  readonly logger: Logger
  readonly signal?: AbortSignal
  /** A directory for scratch files (DuckDB spill, downloaded objects). */
  readonly scratchDir: string
  /** How long a stage's lease lasts when its holder cannot be checked. */
  readonly leaseTtlMs: number
  /** DuckDB's memory limit (e.g. '512MB'); past it DuckDB spills to scratchDir. */
  readonly duckdbMemory?: string
}

