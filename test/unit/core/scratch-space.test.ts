/**
 * Scratch cleanup across containers: a directory is removed only when its
 * owner is provably dead (same host, pid namespace and boot; pid gone or
 * started at another time). An owner that cannot be checked from here
 * (another container sharing the host name and the volume) keeps its
 * directory unless it is older than the bound, and the caller is told.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { currentProcess, startTicksOf, type ProcessIdentity } from '../../../src/core/process-identity.js'
import { makeScratchDir, OWNER_FILE, removeDeadScratchDirs, removeScratchDir } from '../../../src/core/scratch-space.js'

let root: string
let deadPid: number
let sleeper: ReturnType<typeof spawn>

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'starline-scratch-owners-'))
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  deadPid = child.pid!
  sleeper = spawn('sleep', ['60'], { stdio: 'ignore' })
})
after(async () => {
  sleeper.kill()
  await rm(root, { recursive: true, force: true })
})

async function ownedDir(name: string, owner: Partial<ProcessIdentity>, ageMs = 0): Promise<string> {
  const dir = join(root, name)
  await mkdir(dir)
  await writeFile(join(dir, OWNER_FILE), JSON.stringify(owner))
  await writeFile(join(dir, 'spill.tmp'), 'data')
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs)
    for (const path of [join(dir, OWNER_FILE), join(dir, 'spill.tmp'), dir]) await utimes(path, then, then)
  }
  return dir
}

describe('scratch directories of other processes', () => {
  it('records the pid namespace, boot and start time of its owner', async () => {
    const dir = await makeScratchDir(root, 'mine')
    const owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as ProcessIdentity
    assert.deepEqual(owner, currentProcess())
    await removeScratchDir(dir)
  })

  it('removes only the directories whose owner is provably dead, and keeps unknown owners until the age bound', async () => {
    const me = currentProcess()
    const linux = process.platform === 'linux'
    const dead = await ownedDir('dead', { ...me, pid: deadPid })
    const live = await ownedDir('live', { ...me, pid: sleeper.pid!, ...(linux ? { startTicks: startTicksOf(sleeper.pid!)! } : {}) })
    // Another container sharing the host name and the volume: its pid means nothing here, even a pid gone here.
    const otherContainer = await ownedDir('other-container', { ...me, pidNamespace: 'pid:[4026532999]', pid: deadPid })
    // Written before owners named their namespace: cannot be checked either.
    const older = await ownedDir('older-format', { host: me.host, pid: deadPid })
    const abandoned = await ownedDir('abandoned', { ...me, pidNamespace: 'pid:[4026532999]', pid: 7 }, 8 * 24 * 3600_000)
    const mine = await makeScratchDir(root, 'mine')
    const told: string[] = []
    const removed = await removeDeadScratchDirs(root, { onUnknownOwnerRemoved: (dir) => told.push(dir) })
    const reused = linux ? [await ownedDir('pid-reused', { ...me, pid: sleeper.pid!, startTicks: String(Number(startTicksOf(sleeper.pid!)) + 1) })] : []
    const removedAfter = await removeDeadScratchDirs(root)

    assert.deepEqual(removed.sort(), [abandoned, dead].sort())
    assert.deepEqual(told, [abandoned])
    assert.deepEqual(removedAfter, reused)
    for (const dir of [live, otherContainer, older, mine]) assert.ok(existsSync(join(dir, OWNER_FILE)), `${dir} stays`)
    await removeScratchDir(mine)
  })
})
