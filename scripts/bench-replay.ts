// `bun run bench:replay`: replay throughput and memory, JSONL → Parquet, as a share of the bare
// parse rate of the same file measured in the same run (the best of three passes of a read + split
// + JSON.parse loop: the least any replay must do). Issue 11's target: ≥ 33 % at default settings,
// peak memory flat in the input size; issue 5's: ≤ 400 bytes of state per item at 1M items.
// A benchmark, not a test: it prints figures and asserts nothing.

import { heapStats } from 'bun:jsc'
import { rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { BENCH_OUT, benchEvents, invpipe } from './bench-support.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const TEN_THOUSAND = { name: '10k items', skus: 2_500, warehouses: 4 }
const CASES = [
  TEN_THOUSAND,
  // The generator gives each item realistic activity, so 1M events reach only part of 1M items.
  { name: '1M items', skus: 250_000, warehouses: 4 },
]

/**
 * Heap bytes per item of state: the engine alone, after a full collection, minus the heap before.
 * Each item gets a stock count, then sales on following days, so it holds a known on-hand, sales
 * history and the event ids of its deduplication window.
 */
function stateBytesPerItem(items: number, eventsPerItem: number): number {
  Bun.gc(true)
  const before = heapStats().heapSize
  const engine = new Engine(DEFAULT_CORE_CONFIG)
  const start = Date.UTC(2026, 0, 1)
  for (let i = 0; i < items; i++) {
    const item = {
      sku: `SKU-${String(i >> 2).padStart(6, '0')}`,
      warehouseId: `WH-${i & 3}`,
      onHand: null,
      leadTimeDays: null,
      orderId: null,
      expectedAt: null,
    }
    engine.process({ ...item, eventId: `e-${i}-0`, type: 'stock_count', quantity: 50, ts: start })
    for (let e = 1; e < eventsPerItem; e++) {
      engine.process({
        ...item,
        eventId: `e-${i}-${e}`,
        type: 'sale',
        quantity: 3,
        ts: start + e * 43_200_000,
      })
    }
    if (i % 10_000 === 9_999) engine.flush(0)
  }
  engine.flush(0)
  Bun.gc(true)
  if (engine.itemCount !== items) throw new Error(`expected ${items} items, got ${engine.itemCount}`)
  return (heapStats().heapSize - before) / items
}

/** Lines a second of the bare loop: the file streamed, split into lines, each line JSON.parse'd. */
async function bareParseRate(path: string): Promise<number> {
  const started = performance.now()
  const decoder = new TextDecoder()
  let carry = ''
  let lines = 0
  let units = 0
  for await (const bytes of Bun.file(path).stream()) {
    const parts = (carry + decoder.decode(bytes, { stream: true })).split('\n')
    carry = parts.pop() as string
    for (const line of parts) {
      units += JSON.parse(line).quantity
      lines++
    }
  }
  if (units < 0) console.log('(keeps the parse from being optimised away)')
  return lines / ((performance.now() - started) / 1000)
}

/** A replay at these settings: its events/s in the loop, process wall time, rows and peak memory. */
async function timedReplay(path: string, dataDir: string, batchSize: number) {
  rmSync(dataDir, { recursive: true, force: true })
  const started = performance.now()
  const run = await invpipe([
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
  return { summary: JSON.parse(run.stdout), wall, peakMiB: run.maxRssMiB }
}

console.log(`replay benchmark: ${EVENTS} events, ${availableParallelism()} cores, Bun ${Bun.version}`)
for (const c of CASES) {
  const path = await benchEvents(EVENTS, c.skus, c.warehouses)
  // The best of three: a single pass was once a fifth of the others (a cold file or a collection
  // in mid-loop), which made replay look four times better than it is.
  const rates = [await bareParseRate(path), await bareParseRate(path), await bareParseRate(path)]
  const bare = Math.max(...rates)
  console.log(
    `${c.name}: bare read + split + JSON.parse loop ${Math.round(bare).toLocaleString('en')} lines/s (best of ${rates.map((r) => Math.round(r).toLocaleString('en')).join(' / ')})`,
  )
  for (const batchSize of [100, 5000]) {
    const { summary, wall, peakMiB } = await timedReplay(
      path,
      join(BENCH_OUT, `data-${c.skus}-${batchSize}`),
      batchSize,
    )
    const share = (100 * summary.events_per_second) / bare
    console.log(
      `${c.name} (${summary.items.toLocaleString('en')} with events), batch ${String(batchSize).padStart(4)}: ${summary.events_per_second.toLocaleString('en')} events/s in the loop = ${share.toFixed(1)} % of the bare parse, ` +
        `${Math.round(EVENTS / wall).toLocaleString('en')} events/s process wall (${wall.toFixed(2)} s incl. start-up), ` +
        `${summary.rows_written.toLocaleString('en')} rows, peak RSS ${peakMiB.toFixed(0)} MiB`,
    )
  }
}
// Memory flat in the input size: the same items, a quarter of the events.
{
  const quarter = await benchEvents(EVENTS / 4, TEN_THOUSAND.skus, TEN_THOUSAND.warehouses)
  const { peakMiB } = await timedReplay(quarter, join(BENCH_OUT, 'data-quarter'), 100)
  console.log(
    `${TEN_THOUSAND.name}, ${(EVENTS / 4).toLocaleString('en')} events, batch 100: peak RSS ${peakMiB.toFixed(0)} MiB`,
  )
}
for (const eventsPerItem of [1, 3]) {
  const bytes = stateBytesPerItem(1_000_000, eventsPerItem)
  console.log(
    `state of 1,000,000 items, ${eventsPerItem} event(s) each: ${bytes.toFixed(0)} bytes of heap per item`,
  )
}
