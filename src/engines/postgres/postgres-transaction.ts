/**
 * Runs `work` in a PostgreSQL transaction on `client`: COMMIT when it
 * resolves, ROLLBACK when it throws. The original error is rethrown even if
 * the rollback fails too (a lost connection rolls back by itself).
 */
import type { ClientBase } from 'pg'

export async function inTransaction<T>(client: ClientBase, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN')
  try {
    const result = await work()
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}
