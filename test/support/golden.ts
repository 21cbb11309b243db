/**
 * Golden files: generated text compared with a file under test/golden/.
 * `STARLINE_REWRITE_GOLDEN=1` rewrites them (review the diff before committing).
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const GOLDEN_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden')

export function assertGolden(name: string, actual: string): void {
  const path = join(GOLDEN_ROOT, name)
  const text = actual.endsWith('\n') ? actual : `${actual}\n`
  if (process.env.STARLINE_REWRITE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, text)
    return
  }
  assert.ok(existsSync(path), `Golden file ${name} is missing: run with STARLINE_REWRITE_GOLDEN=1 to create it`)
  assert.equal(text, readFileSync(path, 'utf8'), `${name} differs from the generated text (STARLINE_REWRITE_GOLDEN=1 rewrites it)`)
}
