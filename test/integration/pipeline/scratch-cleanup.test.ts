/**
 * A run killed with SIGKILL cannot remove its scratch files; the next stage
 * to start on the same STARLINE_SCRATCH_DIR removes them, and never the
 * files of a run that is still alive.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { makeScratchDir, OWNER_FILE, removeScratchDir } from '../../../src/core/scratch-space.js'
import { startCli } from '../../support/cli-process.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
const scratchDir = mkdtempSync(join(tmpdir(), 'starline-scratch-'))
before(() => fixture.start())
after(async () => {
  await fixture.stop()
  rmSync(scratchDir, { recursive: true, force: true })
})

/** The run directories under the scratch root (those that name an owner). */
function runDirs(): string[] {
  return readdirSync(scratchDir).filter((name) => existsSync(join(scratchDir, name, OWNER_FILE))).sort()
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('scratch files of killed runs', () => {
  it('are removed when the next stage starts, while a live run\'s stay', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.5, env: { STARLINE_SCRATCH_DIR: scratchDir } })
    const env = {
      STARLINE_SOURCE_URL: pipeline.sourceUrl,
      STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
      STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
      STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      STARLINE_EXTRACT_LAG: '0ms',
      STARLINE_SCRATCH_DIR: scratchDir,
    }
    const { child, done } = startCli(['run'], env)
    await waitFor(() => runDirs().some((name) => name.startsWith('transform-')), 'the transform scratch directory')
    child.kill('SIGKILL')
    await done
    const leftovers = runDirs()
    assert.ok(leftovers.length > 0, 'the killed run left its scratch directory')

    // Alive: another process on this host, and this process itself.
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' })
    try {
      const other = join(scratchDir, 'transform-other-live-run')
      mkdirSync(other)
      writeFileSync(join(other, OWNER_FILE), JSON.stringify({ host: hostname(), pid: sleeper.pid }))
      writeFileSync(join(other, 'spill.tmp'), 'in use')
      const mine = await makeScratchDir(scratchDir, 'load-mine')
      // A directory being created has no owner yet, and another host's cannot be checked from here: both stay.
      const unowned = join(scratchDir, 'load-unowned')
      mkdirSync(unowned)
      const remote = join(scratchDir, 'load-remote')
      mkdirSync(remote)
      writeFileSync(join(remote, OWNER_FILE), JSON.stringify({ host: `${hostname()}-elsewhere`, pid: 1 }))

      await pipeline.cycle()
      const left = readdirSync(scratchDir).sort()
      for (const dir of leftovers) assert.ok(!left.includes(dir), `${dir} was removed`)
      for (const dir of [mine.slice(scratchDir.length + 1), 'load-remote', 'load-unowned', 'transform-other-live-run']) assert.ok(left.includes(dir), `${dir} stays`)
      assert.ok(existsSync(join(other, 'spill.tmp')), 'the live run keeps its files')
      await removeScratchDir(mine)
    } finally {
      sleeper.kill()
    }
    await assertWarehouseMatchesSource(pipeline)
  })
})
