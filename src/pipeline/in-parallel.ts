/**
 * Bounded concurrency for a stage's per-table work: at most `limit` items in
 * flight, results in the items' order (so manifests list tables in the same
 * order whatever finished first).
 */

/**
 * Runs `work` over `items` with at most `limit` at once. After the first
 * failure no new item starts, the ones in flight are waited for (so nothing
 * is still writing when the caller cleans up), and that first error is
 * thrown.
 */
export async function mapInParallel<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  let failed: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const index = next++
      try {
        results[index] = await work(items[index]!, index)
      } catch (error) {
        failed ??= { error }
      }
    }
  }
  const lanes = Math.max(1, Math.min(Math.trunc(limit) || 1, items.length))
  await Promise.all(Array.from({ length: lanes }, worker))
  if (failed !== undefined) throw failed.error
  return results
}
