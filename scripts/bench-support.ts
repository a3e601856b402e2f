// What the benchmarks share: running the CLI as a separate process (timed, with its peak memory)
// and the generated event files they read, made once and kept in bench-out/ (git-ignored).
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dir, '..')
export const BENCH_OUT = join(ROOT, 'bench-out')

/** Runs invpipe as its own process; the peak memory is its VmHWM, sampled while it runs. */
export async function invpipe(args: string[], env?: Record<string, string>) {
  const started = performance.now()
  const proc = Bun.spawn(['bun', join(ROOT, 'src/main.ts'), ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
    env: env ?? process.env,
  })
  const sampler = sampleHighWaterMark(proc.pid)
  const stdout = await new Response(proc.stdout).text()
  const code = await proc.exited
  const peakBytes = await sampler.stop()
  if (code !== 0) throw new Error(`invpipe ${args.join(' ')} failed`)
  return { stdout, seconds: (performance.now() - started) / 1000, maxRssMiB: peakBytes / 1048576 }
}

/**
 * Polls /proc/PID/status for VmHWM (the process's own peak resident set), because the rusage that
 * a parent gets back covers the largest of all its children, not the one just finished.
 */
export function sampleHighWaterMark(pid: number) {
  let peak = 0
  const timer = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (match) peak = Math.max(peak, Number(match[1]) * 1024)
    } catch {
      // The process has exited: the last sample stands.
    }
  }, 50)
  return {
    stop: async () => {
      clearInterval(timer)
      return peak
    },
  }
}

/** A generated JSONL stream (seed 7, 90 days): made on first use, then reused. */
export async function benchEvents(events: number, skus: number, warehouses: number): Promise<string> {
  mkdirSync(BENCH_OUT, { recursive: true })
  const path = join(BENCH_OUT, `events-${events}-${skus}x${warehouses}.jsonl`)
  if (!existsSync(path)) {
    const generated = await invpipe([
      'generate',
      ...['--events', String(events), '--skus', String(skus), '--warehouses', String(warehouses)],
      ...['--days', '90', '--seed', '7', '--output', path],
    ])
    console.log(`generated ${path} in ${generated.seconds.toFixed(1)} s`)
  }
  return path
}
