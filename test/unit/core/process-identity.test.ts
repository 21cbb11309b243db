import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import { currentProcess, ownerState, ownerTag, startTicksOf, tagState } from '../../../src/core/process-identity.js'

const linux = process.platform === 'linux'
let sleeper: ReturnType<typeof spawn>
let deadPid: number

before(async () => {
  sleeper = spawn('sleep', ['60'], { stdio: 'ignore' })
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  deadPid = child.pid!
})
after(() => {
  sleeper.kill()
})

describe('process identity', () => {
  it('records this process with its pid namespace, boot and start time on Linux', { skip: !linux && 'needs /proc' }, () => {
    const me = currentProcess()
    assert.equal(me.pid, process.pid)
    assert.match(me.pidNamespace ?? '', /^pid:\[\d+\]$/)
    assert.match(me.bootId ?? '', /^[0-9a-f-]{36}$/)
    assert.equal(me.startTicks, startTicksOf(process.pid))
  })

  it('judges an owner in this namespace dead when its pid is gone', () => {
    assert.equal(ownerState({ ...currentProcess(), pid: deadPid }), 'dead')
    assert.equal(tagState(ownerTag({ ...currentProcess(), pid: deadPid })), 'dead')
  })

  it('judges a live owner alive, and dead once its pid belongs to a process started at another time', { skip: !linux && 'needs /proc' }, () => {
    const live = { ...currentProcess(), pid: sleeper.pid!, startTicks: startTicksOf(sleeper.pid!)! }
    assert.equal(ownerState(live), 'alive')
    assert.equal(tagState(ownerTag(live)), 'alive')
    const reused = { ...live, startTicks: String(Number(live.startTicks) - 1) }
    assert.equal(ownerState(reused), 'dead')
    assert.equal(tagState(ownerTag(reused)), 'dead')
  })

  it('cannot judge an owner in another pid namespace, on another boot or host, or recorded without a namespace', () => {
    const dead = { ...currentProcess(), pid: deadPid }
    assert.equal(ownerState({ ...dead, pidNamespace: 'pid:[1]' }), 'unknown')
    assert.equal(ownerState({ ...dead, bootId: '00000000-0000-0000-0000-000000000000' }), 'unknown')
    assert.equal(ownerState({ ...dead, host: `${dead.host}-elsewhere` }), 'unknown')
    assert.equal(ownerState({ host: dead.host, pid: deadPid }), 'unknown')
    assert.equal(tagState(ownerTag({ ...dead, pidNamespace: 'pid:[1]' })), 'unknown')
    assert.equal(tagState('not-a-tag'), 'unknown')
  })
})
