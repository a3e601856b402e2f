// The memory allocator's one setting that invpipe chooses for itself, before it does any work.
//
// Bun allocates with mimalloc, which by default gives freed memory back to the operating system;
// a long run then faults the same pages in again and again. In replay that cost a quarter of the
// CPU time, in the kernel (README, "Benchmarks": 16.9 → 12.5 s wall and 6.7 → 1.6 s of system time
// on 1M events; peak memory 445 → 557 MiB, then flat). mimalloc reads its options only as the
// process starts, so invpipe starts itself again, once and in place (execve: the same process id,
// open files, terminal and signals), with MIMALLOC_PURGE_DELAY=-1. A value already in the
// environment is kept (set MIMALLOC_PURGE_DELAY=100 for mimalloc's default), and where execve
// cannot be reached (not Linux, no glibc) the run goes on as it is.
import { dlopen, FFIType, ptr } from 'bun:ffi'

const SETTING = 'MIMALLOC_PURGE_DELAY'
const KEEP_FREED_MEMORY = '-1'

/** Returns only when the process could not be restarted (or did not need to be). */
export function restartWithAllocatorSetting(): void {
  if (process.platform !== 'linux' || process.env[SETTING] !== undefined) return
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
  const environment = Object.entries(process.env).map(([name, value]) => `${name}=${value}`)
  environment.push(`${SETTING}=${KEEP_FREED_MEMORY}`)
  const argv = pointers(commandLine())
  const envp = pointers(environment)
  // Returns only on failure; the run then goes on with mimalloc's default.
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
