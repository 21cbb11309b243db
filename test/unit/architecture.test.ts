/**
 * The layers of src/, checked on every test run: imports point down only,
 * folders form no cycle, stage code names no driver, files stay small.
 * The picture in words is the README's "Architecture" section.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

/** What each top folder may import (besides itself). Neutral homes at the bottom import almost nothing. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  core: [],
  schema: ['core'],
  sql: ['core'],
  engines: ['core', 'sql', 'schema'],
  lake: ['core', 'sql', 'schema', 'engines'],
  source: ['core', 'sql', 'schema', 'engines', 'lake'],
  transform: ['core', 'sql', 'schema', 'engines', 'lake'],
  warehouse: ['core', 'sql', 'schema', 'engines', 'lake'],
  datasets: ['core', 'sql', 'schema', 'engines', 'lake', 'source'],
  loader: ['core', 'sql', 'schema', 'engines', 'lake', 'warehouse'],
  config: ['core', 'sql', 'schema', 'engines', 'lake'],
  observe: ['core', 'sql', 'schema', 'engines', 'lake', 'config'],
  // Stage code reaches engines only through contracts: no engines/ helper, no driver.
  pipeline: ['core', 'sql', 'schema', 'lake', 'source', 'transform', 'warehouse', 'datasets', 'loader', 'config', 'observe'],
  runtime: ['core', 'sql', 'schema', 'engines', 'lake', 'source', 'transform', 'warehouse', 'datasets', 'loader', 'config', 'observe', 'pipeline'],
}

const DRIVERS = /^(pg|pg-copy-streams|@duckdb\/node-api|@aws-sdk\/.+)$/

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from|import)\s*\(?\s*(['"])([^'"]+)\1/g)].map((m) => m[2]!)
}

const topFolder = (file: string): string => relative(SRC, file).split('/')[0]!
const files = sourceFiles(SRC)

describe('the layers of src/', () => {
  it('knows every top folder', () => {
    const folders = new Set(files.map(topFolder).filter((f) => !f.endsWith('.ts')))
    for (const folder of folders) assert.ok(folder in MAY_IMPORT, `src/${folder} has no place in the layers: add it to MAY_IMPORT and the README`)
  })

  it('has every import point down (or within its own folder)', () => {
    const wrong: string[] = []
    for (const file of files) {
      const from = topFolder(file)
      for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
        const to = topFolder(resolve(dirname(file), spec))
        if (to !== from && !(MAY_IMPORT[from] ?? []).includes(to)) wrong.push(`${relative(SRC, file)} imports ${spec}`)
      }
    }
    assert.deepEqual(wrong, [])
  })

  // An engine folder (warehouse/postgres) imports its family's contract, and the family's open-*.ts
  // picks the engine: that pair is the adapter pattern, not a cycle between layers.
  it('forms no cycle between top folders', () => {
    const edges = new Map<string, Set<string>>()
    for (const file of files) {
      const from = topFolder(file)
      for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
        const to = topFolder(resolve(dirname(file), spec))
        if (to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to))
      }
    }
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return
      if (state.get(node) === 'open') return void cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '))
      state.set(node, 'open')
      for (const next of edges.get(node) ?? []) visit(next, [...path, node])
      state.set(node, 'done')
    }
    for (const node of edges.keys()) visit(node, [])
    assert.deepEqual(cycles, [])
  })

  it('keeps drivers and engine folders out of stage code', () => {
    const stageFiles = files.filter((f) => topFolder(f) === 'pipeline')
    // An engine folder is a subfolder of a contract's family: lake/fs, source/postgres, warehouse/duckdb...
    const engineFolder = /^(lake|source|warehouse|transform)\/[^/]+\//
    const wrong = stageFiles.flatMap((f) =>
      importsOf(f)
        .filter((s) => DRIVERS.test(s) || (s.startsWith('.') && engineFolder.test(relative(SRC, resolve(dirname(f), s)))))
        .map((s) => `${relative(SRC, f)} imports ${s}`),
    )
    assert.deepEqual(wrong, [])
  })

  it('keeps every file under 400 lines', () => {
    const big = files.map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, lines]) => lines > 400)
    assert.deepEqual(big, [])
  })
})
