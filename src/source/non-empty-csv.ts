/**
 * A CSV stream with a header line is "empty" when nothing follows the header.
 * This reads just far enough to tell, so an unchanged table writes no object,
 * without a second query to count rows.
 */
import { Readable } from 'node:stream'

/** The same bytes as `csv`, or undefined when it holds only a header line. */
export async function nonEmptyCsv(csv: Readable): Promise<Readable | undefined> {
  const iterator = csv[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const buffered: Buffer[] = []
  let length = 0
  for (;;) {
    const next = await iterator.next()
    if (next.done) {
      const text = Buffer.concat(buffered)
      const newline = text.indexOf(10)
      if (newline === -1 || newline === text.length - 1) return undefined
      return Readable.from([text])
    }
    buffered.push(next.value)
    length += next.value.length
    const all = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered, length)
    const newline = all.indexOf(10)
    if (newline !== -1 && newline < all.length - 1) {
      return Readable.from(resume(all, iterator))
    }
  }
}

async function* resume(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first
  for (;;) {
    const next = await rest.next()
    if (next.done) return
    yield next.value
  }
}
