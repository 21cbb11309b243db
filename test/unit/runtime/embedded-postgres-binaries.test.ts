import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { reachableBinaries } from '../../../src/runtime/embedded-postgres-server.js'

const root = mkdtempSync(join(tmpdir(), 'starline-binaries-'))
chmodSync(root, 0o755) // mkdtemp makes it private
after(() => rmSync(root, { recursive: true, force: true }))

function fakePackage(parent: string): { initdb: string; postgres: string } {
  const bin = join(parent, 'native', 'bin')
  mkdirSync(bin, { recursive: true })
  mkdirSync(join(parent, 'native', 'lib'))
  writeFileSync(join(parent, 'native', 'lib', 'libpq.so'), 'lib')
  for (const name of ['initdb', 'postgres']) writeFileSync(join(bin, name), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 })
  return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') }
}

describe('reachableBinaries', () => {
  it('uses the installed binaries where every folder above them is open', () => {
    const open = join(root, 'open')
    mkdirSync(open)
    chmodSync(open, 0o755)
    const binaries = fakePackage(open)
    assert.deepEqual(reachableBinaries(binaries, root), binaries)
  })

  it('copies them once to a shared folder when a private folder (mode 700) hides them', () => {
    const shared = join(root, 'shared')
    mkdirSync(shared)
    const hidden = join(root, 'private')
    mkdirSync(hidden)
    const binaries = fakePackage(hidden)
    chmodSync(hidden, 0o700)
    const copied = reachableBinaries(binaries, shared)
    assert.notEqual(copied.postgres, binaries.postgres)
    assert.ok(copied.postgres.startsWith(shared))
    assert.equal(readFileSync(copied.postgres, 'utf8'), '#!/bin/sh\necho postgres\n')
    assert.equal(statSync(copied.postgres).mode & 0o111, 0o111)
    assert.equal(readFileSync(join(copied.postgres, '..', '..', 'lib', 'libpq.so'), 'utf8'), 'lib')
    assert.deepEqual(reachableBinaries(binaries, shared), copied, 'the second start reuses the copy')
  })
})
