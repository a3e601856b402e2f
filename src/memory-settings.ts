// The memory settings that invpipe chooses for itself, before it does any work.
//
// Bun allocates with mimalloc, which by default gives freed memory back to the operating system;
// a long run then faults the same pages in again and again. In replay that cost a quarter of the
// CPU time, in the kernel (README, "Benchmarks": 16.9 → 12.5 s wall and 6.7 → 1.6 s of system time
// on 1M events; peak memory 445 → 557 MiB, then flat). mimalloc reads its options only as the
// process starts, so invpipe starts itself again, once and in place (execve: the same process id,
// open files, terminal and signals), with MIMALLOC_PURGE_DELAY=-1.
//
// Under a memory limit (a container's cgroup), though, memory the allocator keeps is memory the
// kernel cannot reclaim when the process nears its limit, and JavaScriptCore sizes its heap by the
// machine's memory, which it takes for its own. There mimalloc's default stays, and the restart sets
// BUN_JSC_forceRAMSize to the limit instead. Measured with `consume` over 300,000 events under
// 384 MiB: killed (status 137) in three runs of three with the memory kept, in two of four with
// mimalloc's default alone, in none of five with the heap sized to the limit too (339–384 MiB);
// under 448 MiB: 25.6–28.2 s, 19.7–21.2 s and 17.6 s.
//
// A value already in the environment is kept (MIMALLOC_PURGE_DELAY=100 is mimalloc's default), and
// where execve cannot be reached (not Linux, no glibc) the run goes on as it is.
import { dlopen, FFIType, ptr } from 'bun:ffi'
import { readFileSync } from 'node:fs'
import { totalmem } from 'node:os'
import { join } from 'node:path'

/** The settings this process should run with that its environment lacks (the user's own win). */
export function memorySettings(
  environment: Record<string, string | undefined>,
  limit: number | null,
): Record<string, string> {
  const wanted: Record<string, string> =
    limit === null ? { MIMALLOC_PURGE_DELAY: '-1' } : { BUN_JSC_forceRAMSize: String(limit) }
  return Object.fromEntries(Object.entries(wanted).filter(([name]) => environment[name] === undefined))
}

/** Returns only when the process could not be restarted (or did not need to be). */
export function restartWithMemorySettings(): void {
  if (process.platform !== 'linux') return
  const settings = memorySettings(process.env, memoryLimit())
  if (Object.keys(settings).length === 0) return
  let libc: ReturnType<typeof openLibc>
  try {
    libc = openLibc()
  } catch {
    return
  }
  // Held until execve has read them: only their addresses go to C.
  const strings: Buffer[] = []
  const cString = (text: string) => {
    const bytes = Buffer.from(`${text}\0`)
    strings.push(bytes)
    return bytes
  }
  const pointers = (texts: string[]) => {
    const array = new BigUint64Array(texts.length + 1) // ends with a null pointer
    texts.forEach((text, i) => {
      array[i] = BigInt(ptr(cString(text)))
    })
    return array
  }
  const environment = Object.entries({ ...process.env, ...settings }).map(
    ([name, value]) => `${name}=${value}`,
  )
  const argv = pointers(commandLine())
  const envp = pointers(environment)
  // Returns only on failure; the run then goes on with the defaults.
  libc.symbols.execve(ptr(cString(process.execPath)), ptr(argv), ptr(envp))
  libc.close()
}

function openLibc() {
  return dlopen('libc.so.6', {
    execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  })
}

/**
 * This process's own command line: a compiled binary is started by its name alone; `bun` is given
 * its own options (e.g. --cpu-prof) and the script.
 */
function commandLine(): string[] {
  const compiled = Bun.main.startsWith('/$bunfs/')
  return compiled
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, ...process.execArgv, ...process.argv.slice(1)]
}

/**
 * The memory limit that applies to this process, in bytes: the lowest `memory.max` (cgroup v2) or
 * `memory.limit_in_bytes` (v1) on its cgroup's path, from its own group up to the root (a
 * container sees its own limit at its root); null when none is below the machine's memory. `root`:
 * where /proc and /sys are (tests).
 */
export function memoryLimit(root = '/', machineMemory = totalmem()): number | null {
  let groups: string
  try {
    groups = readFileSync(join(root, 'proc/self/cgroup'), 'utf8')
  } catch {
    return null
  }
  let lowest: number | null = null
  for (const line of groups.split('\n')) {
    // hierarchy-id:controllers:path ("0::path" for v2)
    const first = line.indexOf(':')
    const second = line.indexOf(':', first + 1)
    if (first < 0 || second < 0) continue
    const controllers = line.slice(first + 1, second).split(',')
    const path = line.slice(second + 1)
    const files: [mount: string, file: string][] =
      controllers.length === 1 && controllers[0] === ''
        ? [
            ['sys/fs/cgroup', 'memory.max'],
            ['sys/fs/cgroup/unified', 'memory.max'],
          ]
        : controllers.includes('memory')
          ? [['sys/fs/cgroup/memory', 'memory.limit_in_bytes']]
          : []
    for (const [mount, file] of files)
      for (const group of withAncestors(path)) {
        const limit = readLimit(join(root, mount, group, file))
        if (limit !== null && limit < machineMemory && (lowest === null || limit < lowest)) lowest = limit
      }
  }
  return lowest
}

/** "/a/b", "/a", "/". */
function withAncestors(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '')
  return parts.map((_, i) => `/${parts.slice(0, parts.length - i).join('/')}`).concat('/')
}

/** A limit file's bytes; null when it is missing or says "max". */
function readLimit(path: string): number | null {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch {
    return null
  }
  const bytes = Number(text)
  return text === '' || !Number.isFinite(bytes) ? null : bytes
}
