// `bun run bench:replay`: replay throughput and memory, JSONL → Parquet (issue targets:
// ≥ 1,000,000 events/s on one core at 10k items; ≤ 400 bytes of state per item at 1M items).
// A benchmark, not a test: it prints figures and asserts nothing.

import { heapStats } from 'bun:jsc'
import { rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { BENCH_OUT, benchEvents, invpipe } from './bench-support.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const CASES = [
  { name: '10k items', skus: 2_500, warehouses: 4 },
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

console.log(`replay benchmark: ${EVENTS} events, ${availableParallelism()} cores, Bun ${Bun.version}`)
for (const c of CASES) {
  const path = await benchEvents(EVENTS, c.skus, c.warehouses)
  for (const batchSize of [100, 5000]) {
    const dataDir = join(BENCH_OUT, `data-${c.skus}-${batchSize}`)
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
    const summary = JSON.parse(run.stdout)
    console.log(
      `${c.name} (${summary.items.toLocaleString('en')} with events), batch ${String(batchSize).padStart(4)}: ${summary.events_per_second.toLocaleString('en')} events/s in the loop, ` +
        `${Math.round(EVENTS / wall).toLocaleString('en')} events/s process wall (${wall.toFixed(2)} s incl. start-up), ` +
        `${summary.rows_written.toLocaleString('en')} rows, peak RSS ${run.maxRssMiB.toFixed(0)} MiB`,
    )
  }
}
for (const eventsPerItem of [1, 3]) {
  const bytes = stateBytesPerItem(1_000_000, eventsPerItem)
  console.log(
    `state of 1,000,000 items, ${eventsPerItem} event(s) each: ${bytes.toFixed(0)} bytes of heap per item`,
  )
}
