// `bun run bench:volume`: the engine's cost per event by how much an item sells. The benchmark input of
// bench:replay sells about a unit an item a day; a retailer's fast movers sell hundreds, and their
// first passages sum over a grid of the demand (passage.ts crossesOnGrid). 30 items, each selling in
// 20 sales a day over 90 days, replenished by weekly purchase orders due 5 days out, the events in
// time order through the engine alone at BATCH_SIZE 100. A benchmark, not a test: it prints figures
// and asserts nothing.

import { availableParallelism } from 'node:os'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import type { InventoryEvent } from '../src/core/event.ts'
import { MS_PER_DAY } from '../src/core/time.ts'
import { Random } from '../src/generate/random.ts'

const HOUR = MS_PER_DAY / 24
const START = Date.UTC(2026, 0, 1)
const ITEMS = 30
const DAYS = 90
const SALES_A_DAY = 20
const BATCH_SIZE = 100

/** One item's events: its sales (exponential sizes, never more than is on hand) and weekly orders. */
function itemEvents(sku: string, unitsADay: number, random: Random): InventoryEvent[] {
  const events: InventoryEvent[] = []
  const event = (type: InventoryEvent['type'], ts: number, quantity: number, extra = {}) =>
    events.push({
      eventId: `${sku}-${events.length}`,
      type,
      sku,
      warehouseId: 'W',
      quantity,
      ts,
      onHand: null,
      leadTimeDays: null,
      orderId: null,
      expectedAt: null,
      ...extra,
    })
  let onHand = unitsADay * 10
  event('stock_count', START, onHand)
  const order = unitsADay * 7
  for (let day = 0; day < DAYS; day++) {
    for (let k = 0; k < SALES_A_DAY; k++) {
      const units = Math.min(onHand, Math.max(1, Math.round(random.exponential(SALES_A_DAY / unitsADay))))
      if (units <= 0) continue
      onHand -= units
      event('sale', START + day * MS_PER_DAY + (8 + k / 2) * HOUR, units)
    }
    if (day % 7 === 0)
      event('purchase_order', START + day * MS_PER_DAY + 20 * HOUR, order, {
        orderId: `P${day}`,
        expectedAt: START + (day + 5) * MS_PER_DAY,
      })
    if (day % 7 === 5) {
      onHand += order
      event('restock', START + day * MS_PER_DAY + 7 * HOUR, order, { orderId: `P${day - 5}` })
    }
  }
  return events
}

function microsecondsAnEvent(unitsADay: number): { events: number; micros: number } {
  const random = new Random(7)
  const events = Array.from({ length: ITEMS }, (_, i) => itemEvents(`S${i}`, unitsADay, random))
    .flat()
    .sort((a, b) => a.ts - b.ts)
  const engine = new Engine(DEFAULT_CORE_CONFIG)
  const started = performance.now()
  events.forEach((event, i) => {
    engine.process(event)
    if ((i + 1) % BATCH_SIZE === 0) engine.flush(0)
  })
  engine.flush(0)
  return { events: events.length, micros: ((performance.now() - started) * 1000) / events.length }
}

console.log(`volume benchmark: the engine alone, ${availableParallelism()} cores, Bun ${Bun.version}`)
for (const unitsADay of [1, 5, 20, 100, 400, 1000, 5000]) {
  const { events, micros } = microsecondsAnEvent(unitsADay)
  console.log(
    `${String(unitsADay).padStart(5)} units an item a day: ${events.toLocaleString('en')} events, ${micros.toFixed(1)} µs an event`,
  )
}
