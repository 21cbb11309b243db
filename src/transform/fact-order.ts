/**
 * Writing a fact model's rows in its table's append order, and the small
 * memory setting for the transform's statements that grow with a table.
 */
import { rm } from 'node:fs/promises'
import { messageOf } from '../core/starline-error.js'
import type { DuckDb } from '../engines/duckdb/duckdb-engine.js'
import type { ModelSpec } from '../schema/dataset.js'
import { quoteIdentList, quoteLiteral } from '../sql/quote.js'

/**
 * A fact's append order, in which its output file is written: the load then
 * numbers its rows by position in the file (a stream) instead of sorting the
 * whole file in the load process (a window over one partition, held outside
 * the memory limit).
 */
export function appendOrderOf(model: ModelSpec): readonly string[] | undefined {
  const order = model.table.appendOrder
  return model.table.kind === 'fact' && order !== undefined && order.length > 0 ? order : undefined
}

/**
 * DuckDB's memory limit (and one thread) for the statements whose work grows
 * with a table and spills: a fact file's sort and a dimension's key check.
 * Past the limit, the process holds about 110 MB more than it (the ordered
 * Parquet write, each thread's buffers), so under the stage's 256 MB the
 * sort of fact_payment alone reached 359 MB of peak RSS at scale 300 (224 MB
 * at scale 100), and dim_transaction's key check 300 MB; under 64 MB they
 * held 172 and 174 MB, about as fast.
 */
const SPILLING_MEMORY_LIMIT = '64MB'

/**
 * Runs `work` on one thread under SPILLING_MEMORY_LIMIT, then puts back the
 * thread count and `memoryLimit`. Rows whose strings DuckDB cannot keep
 * inline (longer than 12 bytes) do not all spill: a sort of 600k rows with
 * 32-character codes ran out of 64 MB. Out of memory, `work` runs once more
 * under the stage's own limit (STARLINE_DUCKDB_MEMORY), so the setting the
 * error names is the one that decides. `work` must be repeatable.
 */
export async function withSmallMemory<T>(db: DuckDb, memoryLimit: string | undefined, work: () => Promise<T>): Promise<T> {
  const stageLimit = memoryLimit ? `SET memory_limit = ${quoteLiteral(memoryLimit)}` : 'RESET memory_limit'
  const [setting] = await db.all<{ threads: string }>("SELECT current_setting('threads')::VARCHAR AS threads")
  await db.run('SET threads = 1')
  await db.run(`SET memory_limit = ${quoteLiteral(SPILLING_MEMORY_LIMIT)}`)
  try {
    try {
      return await work()
    } catch (error) {
      if (!/^Out of Memory Error/.test(messageOf(error))) throw error
      await db.run(stageLimit)
      return await work()
    }
  } finally {
    await db.run(`SET threads = ${Number(setting?.threads ?? 1)}`)
    await db.run(stageLimit)
  }
}

/**
 * Writes the rows of `sql` to `path` sorted by `order`; returns how many.
 * In two steps: the model's rows to a file of their own first (streamed, as
 * any model), then that file sorted under withSmallMemory. One statement on
 * two threads (the sort beside the model's own joins) took a scale-100
 * transform from 239 to 381 MB of peak RSS.
 */
export async function writeInOrder(db: DuckDb, sql: string, order: readonly string[], path: string, memoryLimit: string | undefined): Promise<number> {
  const unsorted = `${path}.unsorted`
  try {
    const rows = await db.run(`COPY (${sql}) TO ${quoteLiteral(unsorted)} (FORMAT parquet, COMPRESSION zstd)`)
    await withSmallMemory(db, memoryLimit, () =>
      db.run(
        `COPY (SELECT * FROM read_parquet(${quoteLiteral(unsorted)}) ORDER BY ${quoteIdentList(order)}) TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`,
      ),
    )
    return rows
  } finally {
    await rm(unsorted, { force: true })
  }
}
