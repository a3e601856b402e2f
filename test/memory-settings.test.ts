// src/memory-settings.ts: the long-running commands start themselves again in place with mimalloc told to
// keep freed memory, or under a memory limit with JavaScriptCore's heap sized to it instead; a value
// the user set is left alone. Read from /proc: Linux only.
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { memoryLimit, memorySettings } from '../src/memory-settings.ts'

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

/**
 * Replay reading standard input: it runs until the input ends, so its /proc entry can be read.
 * `cgroupProcs`: a cgroup's member list, which the process joins before it starts.
 */
function replayFromStdin(env: Record<string, string>, cgroupProcs?: string) {
  const replay = ['bun', MAIN, 'replay', '-', '--data-dir', dataDir]
  const command =
    cgroupProcs === undefined
      ? replay
      : ['sh', '-c', `echo $$ > ${cgroupProcs} && exec "$@"`, 'sh', ...replay]
  return Bun.spawn(command, {
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

describe.skipIf(process.platform !== 'linux')('the allocator setting (src/memory-settings.ts)', () => {
  // Where the tests themselves run under a memory limit, replay rightly does not restart (below).
  test.skipIf(memoryLimit() !== null)(
    'replay runs as the same process, restarted with MIMALLOC_PURGE_DELAY=-1, and finishes as usual',
    async () => {
      const proc = replayFromStdin({})
      expect(await settingSeen(proc.pid, 10_000)).toEqual(['MIMALLOC_PURGE_DELAY=-1'])
      proc.stdin.write(readFileSync(SAMPLE))
      await proc.stdin.end()
      expect(await proc.exited).toBe(0)
      expect(await new Response(proc.stdout).text()).toContain('events')
    },
  )

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

/** A fake machine under `root`: its /proc/self/cgroup and the cgroup files given (path → content). */
function machine(cgroup: string, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'invpipe-cgroup-'))
  for (const [path, content] of Object.entries({ 'proc/self/cgroup': cgroup, ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return root
}

const GIB = 1024 ** 3

describe("the settings added (memorySettings): the user's own are kept", () => {
  const MIB_512 = 512 * 1024 ** 2
  test('no limit: freed memory kept', () => {
    expect(memorySettings({}, null)).toEqual({ MIMALLOC_PURGE_DELAY: '-1' })
    expect(memorySettings({ MIMALLOC_PURGE_DELAY: '100' }, null)).toEqual({})
  })
  test("a limit: mimalloc's default, the heap sized to the limit", () => {
    expect(memorySettings({}, MIB_512)).toEqual({ BUN_JSC_forceRAMSize: '536870912' })
    expect(memorySettings({ MIMALLOC_PURGE_DELAY: '-1' }, MIB_512)).toEqual({
      BUN_JSC_forceRAMSize: '536870912',
    })
    expect(memorySettings({ BUN_JSC_forceRAMSize: '1073741824' }, MIB_512)).toEqual({})
  })
})

describe('the memory limit that applies (memoryLimit)', () => {
  const cases: [string, string, Record<string, string>, number | null][] = [
    [
      'cgroup v2: its own group limited, the parent not',
      '0::/kubepods/pod1\n',
      {
        'sys/fs/cgroup/kubepods/pod1/memory.max': '536870912\n',
        'sys/fs/cgroup/kubepods/memory.max': 'max\n',
      },
      512 * 1024 ** 2,
    ],
    [
      'cgroup v2: the lowest on the path (a parent below its child)',
      '0::/a/b\n',
      { 'sys/fs/cgroup/a/b/memory.max': String(2 * GIB), 'sys/fs/cgroup/a/memory.max': String(GIB) },
      GIB,
    ],
    [
      "cgroup v1 as a container sees it: the host's path is absent, its own limit is at the root",
      '12:pids:/docker/abc\n4:memory:/docker/abc\n0::/docker/abc\n',
      { 'sys/fs/cgroup/memory/memory.limit_in_bytes': '268435456\n' },
      256 * 1024 ** 2,
    ],
    [
      'cgroup v1 without a limit (the kernel writes its largest page-aligned value)',
      '4:memory:/user.slice\n',
      {
        'sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes': '9223372036854771712\n',
        'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      },
      null,
    ],
    [
      "a limit at or above the machine's memory is none",
      '0::/\n',
      { 'sys/fs/cgroup/memory.max': String(32 * GIB) },
      null,
    ],
    ['no memory controller mounted', '3:cpu,cpuacct:/\n', {}, null],
  ]
  for (const [name, cgroup, files, expected] of cases)
    test(name, () => {
      const root = machine(cgroup, files)
      try {
        expect(memoryLimit(root, 24 * GIB)).toBe(expected)
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })

  test('no /proc/self/cgroup (not Linux): none', () => {
    expect(memoryLimit(join(tmpdir(), 'invpipe-no-such-root'), 24 * GIB)).toBeNull()
  })
})

/** A new memory cgroup (v1) limited to `bytes`, or null where this process cannot make one (not root, no v1 memory controller). */
function limitedCgroup(bytes: number): string | null {
  const parent = '/sys/fs/cgroup/memory'
  if (process.platform !== 'linux' || !existsSync(join(parent, 'cgroup.procs'))) return null
  const group = join(parent, `invpipe-test-${process.pid}`)
  try {
    mkdirSync(group)
    writeFileSync(join(group, 'memory.limit_in_bytes'), String(bytes))
    return group
  } catch {
    return null
  }
}

const cgroup = limitedCgroup(2 * GIB)
afterAll(() => {
  if (cgroup !== null) rmdirSync(cgroup)
})

describe.skipIf(cgroup === null)('under a real memory limit (a cgroup of its own; needs root)', () => {
  test("replay restarts with its heap sized to the limit, keeps mimalloc's default, and finishes as usual", async () => {
    const proc = replayFromStdin({}, join(cgroup as string, 'cgroup.procs'))
    try {
      // Given time to restart.
      await Bun.sleep(1_500)
      expect(readFileSync(`/proc/${proc.pid}/cgroup`, 'utf8')).toContain(
        `memory:/${cgroup?.split('/').pop()}`,
      )
      const environment = environmentOf(proc.pid)
      expect(environment.filter((e) => e.startsWith('BUN_JSC_forceRAMSize='))).toEqual([
        `BUN_JSC_forceRAMSize=${2 * GIB}`,
      ])
      expect(environment.filter((e) => e.startsWith('MIMALLOC_PURGE_DELAY='))).toEqual([])
      proc.stdin.write(readFileSync(SAMPLE))
      await proc.stdin.end()
      expect(await proc.exited).toBe(0)
      expect(await new Response(proc.stdout).text()).toContain('events')
    } finally {
      // The group can only be removed once nothing runs in it.
      proc.kill()
      await proc.exited
    }
  })
})
