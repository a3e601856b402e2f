// What the benchmarks share: running the CLI as a separate process (timed, with its peak memory)
// and the generated event files they read, made once and kept in bench-out/ (git-ignored).
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dir, '..')
export const BENCH_OUT = join(ROOT, 'bench-out')

export function invpipe(args: string[]) {
  const started = performance.now()
  const proc = Bun.spawnSync(['bun', join(ROOT, 'src/main.ts'), ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  if (proc.exitCode !== 0) throw new Error(`invpipe ${args.join(' ')} failed`)
  return {
    stdout: proc.stdout.toString(),
    seconds: (performance.now() - started) / 1000,
    // Bun reports maxRSS in bytes.
    maxRssMiB: (proc.resourceUsage?.maxRSS ?? 0) / 1048576,
  }
}

/** A generated JSONL stream (seed 7, 90 days): made on first use, then reused. */
export function benchEvents(events: number, skus: number, warehouses: number): string {
  mkdirSync(BENCH_OUT, { recursive: true })
  const path = join(BENCH_OUT, `events-${events}-${skus}x${warehouses}.jsonl`)
  if (!existsSync(path)) {
    const generated = invpipe([
      'generate',
      ...['--events', String(events), '--skus', String(skus), '--warehouses', String(warehouses)],
      ...['--days', '90', '--seed', '7', '--output', path],
    ])
    console.log(`generated ${path} in ${generated.seconds.toFixed(1)} s`)
  }
  return path
}
