// tsc compiles only TypeScript; the SQL models and DDL files ship beside the
// compiled modules so `new URL('./x.sql', import.meta.url)` finds them in dist/,
// and so do the dashboard page's files (any file under a `public/` folder).
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'

function copyAssets(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) copyAssets(path)
    else if (path.endsWith('.sql') || path.split(sep).includes('public')) {
      const target = join('dist', relative('src', path))
      mkdirSync(dirname(target), { recursive: true })
      copyFileSync(path, target)
    }
  }
}
copyAssets('src')
