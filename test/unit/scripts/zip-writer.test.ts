import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { crc32, writeZip } from '../../../scripts/zip-writer.mjs'
import { readZip } from '../../support/zip-reader.js'

const UNZIP_MISSING = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0 ? undefined : 'unzip is not installed, so the archive is not checked by an independent reader'

const entries = [
  { name: 'index.js', data: Buffer.from('exports.handler = async () => "ok"\n'.repeat(200)) },
  { name: 'models/dim_date.sql', data: Buffer.from('select 1\n') },
  { name: 'nodejs/node_modules/x/bin.node', data: Buffer.from([0, 1, 2, 3, 255]), mode: 0o755 },
  { name: 'empty.txt', data: Buffer.alloc(0) },
  { name: 'ünïcode name.txt', data: Buffer.from('é') },
]

describe('writeZip', () => {
  it('computes the standard CRC-32', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926)
    assert.equal(crc32(Buffer.alloc(0)), 0)
  })

  it('round-trips every entry, deflating what shrinks and storing what does not', () => {
    const archive = writeZip(entries)
    const read = readZip(archive)
    assert.deepEqual(read.map((e) => [e.name, e.data]), entries.map((e) => [e.name, e.data]))
    assert.ok(read[0]!.compressedSize < entries[0]!.data.length, 'repetitive text is deflated')
    assert.equal(read[2]!.compressedSize, entries[2]!.data.length, 'five random bytes are stored')
    assert.equal(read[2]!.mode, 0o755)
    assert.equal(read[1]!.mode, 0o644)
  })

  it('gives the same bytes for the same input', () => {
    assert.deepEqual(writeZip(entries), writeZip(entries))
  })

  it('refuses a duplicate entry', () => {
    assert.throws(() => writeZip([entries[0]!, entries[0]!]), /duplicate entry index.js/)
  })

  it('writes an archive unzip reads and tests clean', { skip: UNZIP_MISSING }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'starline-zip-'))
    try {
      writeFileSync(join(dir, 'a.zip'), writeZip(entries))
      const test = spawnSync('unzip', ['-t', 'a.zip'], { cwd: dir, encoding: 'utf8' })
      assert.equal(test.status, 0, test.stdout + test.stderr)
      const out = spawnSync('unzip', ['-q', 'a.zip', '-d', 'out'], { cwd: dir, encoding: 'utf8' })
      assert.equal(out.status, 0, out.stderr)
      assert.deepEqual(readFileSync(join(dir, 'out', 'models', 'dim_date.sql')), entries[1]!.data)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
