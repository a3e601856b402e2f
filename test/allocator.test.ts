// src/allocator.ts: the long-running commands start themselves again in place with mimalloc told to
// keep freed memory; a value the user set is left alone. Read from /proc: Linux only.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const MAIN = join(import.meta.dir, '../src/main.ts')
const SAMPLE = join(import.meta.dir, '../fixtures/sample-events.jsonl')
const dataDir = mkdtempSync(join(tmpdir(), 'invpipe-allocator-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** The environment the process image now running under `pid` was started with. */
function environmentOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
  } catch {
    return []
  }
}

/** Replay reading standard input: it runs until the input ends, so its /proc entry can be read. */
function replayFromStdin(env: Record<string, string>) {
  return Bun.spawn(['bun', MAIN, 'replay', '-', '--data-dir', dataDir], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  })
}

async function settingSeen(pid: number, withinMs: number): Promise<string[]> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const settings = environmentOf(pid).filter((entry) => entry.startsWith('MIMALLOC_PURGE_DELAY='))
    if (settings.length > 0 || Date.now() > deadline) return settings
    await Bun.sleep(20)
  }
}

describe.skipIf(process.platform !== 'linux')('the allocator setting (src/allocator.ts)', () => {
  test('replay runs as the same process, restarted with MIMALLOC_PURGE_DELAY=-1, and finishes as usual', async () => {
    const proc = replayFromStdin({})
    expect(await settingSeen(proc.pid, 10_000)).toEqual(['MIMALLOC_PURGE_DELAY=-1'])
    proc.stdin.write(readFileSync(SAMPLE))
    await proc.stdin.end()
    expect(await proc.exited).toBe(0)
    expect(await new Response(proc.stdout).text()).toContain('events')
  })

  test("a value the user set is kept: no restart, the user's value alone", async () => {
    const proc = replayFromStdin({ MIMALLOC_PURGE_DELAY: '100' })
    // Given time to restart, were it (wrongly) going to.
    await Bun.sleep(1_500)
    expect(environmentOf(proc.pid).filter((e) => e.startsWith('MIMALLOC_PURGE_DELAY='))).toEqual([
      'MIMALLOC_PURGE_DELAY=100',
    ])
    await proc.stdin.end()
    expect(await proc.exited).toBe(0)
  })
})
