/**
 * Reads a ZIP archive (stored or deflated entries, no ZIP64) from its central
 * directory, to check and unpack the Lambda packages in tests.
 */
import { crc32 } from '../../scripts/zip-writer.mjs'
import { inflateRawSync } from 'node:zlib'

export interface ZipEntry {
  readonly name: string
  readonly data: Buffer
  /** Unix permission bits, when the archive records them. */
  readonly mode: number
  readonly compressedSize: number
}

export function readZip(archive: Buffer): ZipEntry[] {
  const endAt = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  if (endAt < 0) throw new Error('not a zip archive: no end of central directory record')
  const count = archive.readUInt16LE(endAt + 10)
  let at = archive.readUInt32LE(endAt + 16)
  const entries: ZipEntry[] = []
  for (let i = 0; i < count; i++) {
    if (archive.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip: bad central directory entry ${i}`)
    const method = archive.readUInt16LE(at + 10)
    const crc = archive.readUInt32LE(at + 16)
    const compressedSize = archive.readUInt32LE(at + 20)
    const size = archive.readUInt32LE(at + 24)
    const nameLength = archive.readUInt16LE(at + 28)
    const extraLength = archive.readUInt16LE(at + 30)
    const commentLength = archive.readUInt16LE(at + 32)
    const mode = (archive.readUInt32LE(at + 38) >>> 16) & 0o7777
    const localAt = archive.readUInt32LE(at + 42)
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString('utf8')
    const dataAt = localAt + 30 + archive.readUInt16LE(localAt + 26) + archive.readUInt16LE(localAt + 28)
    const body = archive.subarray(dataAt, dataAt + compressedSize)
    const data = method === 0 ? Buffer.from(body) : method === 8 ? inflateRawSync(body) : undefined
    if (data === undefined) throw new Error(`zip: ${name} uses compression method ${method}`)
    if (data.length !== size || crc32(data) !== crc) throw new Error(`zip: ${name} fails its size or CRC-32 check`)
    entries.push({ name, data, mode, compressedSize })
    at += 46 + nameLength + extraLength + commentLength
  }
  return entries
}
