// `bun run bench:replay`: replay throughput and memory, JSONL → Parquet (issue targets:
// ≥ 1,000,000 events/s on one core at 10k items; ≤ 400 bytes of state per item at 1M items).
// A benchmark, not a test: it prints figures and asserts nothing.

import { heapStats } from 'bun:jsc'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import { openInputs, readInput } from '../src/sources/files.ts'

const ROOT = join(import.meta.dir, '..')
const OUT = join(ROOT, 'bench-out')
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const CASES = [
  { name: '10k items', skus: 2_500, warehouses: 4 },
  { name: '1M items', skus: 250_000, warehouses: 4 },
]

function invpipe(args: string[]) {
  const proc = Bun.spawnSync(['bun', join(ROOT, 'src/main.ts'), ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  if (proc.exitCode !== 0) throw new Error(`invpipe ${args.join(' ')} failed`)
  return { stdout: proc.stdout.toString(), maxRssBytes: (proc.resourceUsage?.maxRSS ?? 0) * 1024 }
}

function eventsFile(skus: number, warehouses: number): string {
  const path = join(OUT, `events-${EVENTS}-${skus}x${warehouses}.jsonl`)
  if (!existsSync(path)) {
    invpipe([
      'generate',
      '--events',
      String(EVENTS),
      '--skus',
      String(skus),
      '--warehouses',
      String(warehouses),
      '--seed',
      '7',
      '--output',
      path,
    ])
  }
  return path
}

/** Heap bytes per item of state: the engine alone, after a full collection, minus the heap before. */
async function stateBytesPerItem(path: string): Promise<{ items: number; bytesPerItem: number }> {
  Bun.gc(true)
  const before = heapStats().heapSize
  const engine = new Engine(DEFAULT_CORE_CONFIG)
  for await (const chunk of readInput(openInputs([path])[0] as never)) {
    for (const line of chunk.records as string[]) {
      const parsed = parseEvent(line)
      if (parsed.ok) engine.process(parsed.event)
    }
  }
  engine.flush(0)
  Bun.gc(true)
  const after = heapStats().heapSize
  return { items: engine.itemCount, bytesPerItem: (after - before) / engine.itemCount }
}

mkdirSync(OUT, { recursive: true })
console.log(`replay benchmark: ${EVENTS} events, ${availableParallelism()} cores, Bun ${Bun.version}`)
for (const c of CASES) {
  const path = eventsFile(c.skus, c.warehouses)
  for (const batchSize of [100, 5000]) {
    const dataDir = join(OUT, `data-${c.skus}-${batchSize}`)
    rmSync(dataDir, { recursive: true, force: true })
    const started = performance.now()
    const run = invpipe([
      'replay',
      path,
      '--json',
      '--no-progress',
      '--data-dir',
      dataDir,
      '--batch-size',
      String(batchSize),
    ])
    const wall = (performance.now() - started) / 1000
    const summary = JSON.parse(run.stdout)
    console.log(
      `${c.name.padEnd(9)} batch ${String(batchSize).padStart(4)}: ${summary.events_per_second.toLocaleString('en')} events/s in the loop, ` +
        `${Math.round(EVENTS / wall).toLocaleString('en')} events/s process wall (${wall.toFixed(2)} s incl. start-up), ` +
        `${summary.rows_written.toLocaleString('en')} rows, peak RSS ${(run.maxRssBytes / 1048576).toFixed(0)} MiB`,
    )
  }
  const state = await stateBytesPerItem(path)
  console.log(
    `${c.name.padEnd(9)} state: ${state.items.toLocaleString('en')} items, ${state.bytesPerItem.toFixed(0)} bytes of heap per item`,
  )
}
