// One item's story from event files, for `invpipe item`: day by day, what it sold and received,
// the stock it closed with, the risk it stood at and the alert messages it raised. The item's events
// go through the same core as replay (in arrival order, deduplicated), one event per batch, so
// every day's last figures and every message are seen.

import type { Alert } from '../core/alerts.ts'
import type { CoreConfig } from '../core/config.ts'
import { Engine } from '../core/engine.ts'
import { parseEvent, validateEvent } from '../core/event.ts'
import type { DailyDelta, MetricsRow } from '../core/rows.ts'
import { type InputFile, readInput } from '../sources/files.ts'

export interface ItemDay {
  /** UTC day number. */
  day: number
  sold: number
  returned: number
  received: number
  adjusted: number
  /** Closing stock of the day as its events left it (null while unknown); absent on days without events. */
  closingOnHand: number | null
  /** Whether the day had no events (it is in the story for a risk or an alert only). */
  quiet: boolean
  stockout: boolean
  /** The item's figures at the last event whose as-of day is this day (its close), if any. */
  row: MetricsRow | null
  /** Alert messages raised on this as-of day, in order. */
  alerts: Alert[]
}

export interface ItemStory {
  sku: string
  warehouseId: string
  /** Lines read in all, and what became of the item's own events. */
  linesRead: number
  events: number
  duplicates: number
  days: ItemDay[]
  /** The item's row after its last event, and the sentence that explains its risk. */
  final: MetricsRow | null
  reason: string
  /** Up to 200 other items of the input, for a suggestion when the item has no event. */
  otherItems: string[]
}

const OTHER_ITEMS = 200

export async function collectItemStory(
  inputs: readonly InputFile[],
  sku: string,
  warehouseId: string,
  core: CoreConfig,
  now: number = Date.now(),
): Promise<ItemStory> {
  const engine = new Engine(core, { trackDaily: true })
  const days = new Map<number, ItemDay>()
  const dayOfStory = (day: number): ItemDay => {
    let entry = days.get(day)
    if (entry === undefined) {
      entry = {
        day,
        sold: 0,
        returned: 0,
        received: 0,
        adjusted: 0,
        closingOnHand: null,
        quiet: true,
        stockout: false,
        row: null,
        alerts: [],
      }
      days.set(day, entry)
    }
    return entry
  }
  const addDaily = (delta: DailyDelta) => {
    const entry = dayOfStory(delta.day)
    entry.sold += delta.sold
    entry.returned += delta.returned
    entry.received += delta.received
    entry.adjusted += delta.adjusted
    entry.closingOnHand = delta.closingOnHand
    entry.stockout ||= delta.stockout
    entry.quiet = false
  }
  const others = new Set<string>()
  let linesRead = 0
  let events = 0
  let duplicates = 0
  let final: MetricsRow | null = null
  for (const input of inputs) {
    for await (const chunk of readInput(input)) {
      for (const record of chunk.records as (string | Record<string, unknown>)[]) {
        if (typeof record === 'string' && record.trim() === '') continue
        linesRead++
        const parsed = typeof record === 'string' ? parseEvent(record) : validateEvent(record)
        if (!parsed.ok) continue
        const event = parsed.event
        if (event.sku !== sku || event.warehouseId !== warehouseId) {
          if (others.size < OTHER_ITEMS) others.add(`${event.sku} ${event.warehouseId}`)
          continue
        }
        events++
        if (engine.process(event) === 'duplicate') duplicates++
        const batch = engine.flush(now)
        for (const delta of batch.daily) addDaily(delta)
        for (const row of batch.rows) {
          dayOfStory(row.asOfDay).row = row
          final = row
        }
        for (const alert of batch.alerts) dayOfStory(alert.asOfDay).alerts.push(alert)
      }
    }
  }
  return {
    sku,
    warehouseId,
    linesRead,
    events,
    duplicates,
    days: [...days.values()].sort((a, b) => a.day - b.day),
    final,
    reason: final === null ? '' : engine.reasonOf(sku, warehouseId),
    otherItems: [...others],
  }
}
