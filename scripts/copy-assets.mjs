// tsc compiles only TypeScript; the SQL models and DDL files ship beside the
// compiled modules so `new URL('./x.sql', import.meta.url)` finds them in dist/.
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

function copySql(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) copySql(path)
    else if (path.endsWith('.sql')) {
      const target = join('dist', relative('src', path))
      mkdirSync(dirname(target), { recursive: true })
      copyFileSync(path, target)
    }
  }
}
copySql('src')
