// Runs the test files under the given folders (default: test/) with Node's
// own test runner and tsx for TypeScript. Node 20 has no glob for --test, so
// the files are listed here.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'))

function collect(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : []
  return readdirSync(path).sort().flatMap((entry) => collect(join(path, entry)))
}

const files = (roots.length > 0 ? roots : ['test']).flatMap(collect)
if (files.length === 0) {
  console.error('No test files found under', roots.join(', ') || 'test')
  process.exit(1)
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...passThrough, ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
