/**
 * The page's files, read once at start-up: the HTML, CSS and script beside
 * the compiled code (copied by scripts/copy-assets.mjs) and Chart.js from
 * its installed package. Only these paths are served: no directory walking,
 * so no path in a request can reach another file.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export interface StaticFile {
  readonly body: Buffer
  readonly contentType: string
}

const PUBLIC_FILES = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
  ['/dashboard.js', 'dashboard.js', 'text/javascript; charset=utf-8'],
  ['/favicon.svg', 'favicon.svg', 'image/svg+xml'],
] as const

export const CHART_JS_PATH = '/vendor/chart.umd.js'

/** Where Chart.js's browser build sits: the package exports only its modules, so go via its main file. */
export function chartJsFile(): string {
  const main = createRequire(import.meta.url).resolve('chart.js')
  return join(dirname(main), 'chart.umd.js')
}

export async function loadStaticFiles(): Promise<ReadonlyMap<string, StaticFile>> {
  const files = new Map<string, StaticFile>()
  for (const [path, file, contentType] of PUBLIC_FILES) {
    files.set(path, { body: await readFile(new URL(`./public/${file}`, import.meta.url)), contentType })
  }
  files.set(CHART_JS_PATH, { body: await readFile(chartJsFile()), contentType: 'text/javascript; charset=utf-8' })
  return files
}
