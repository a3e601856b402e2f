// One item's story from event files, for `invpipe item`: day by day, what it sold and received,
// the stock it closed with, the risk it stood at and the alert messages it raised. The item's events
// go through the same core as replay (in arrival order, deduplicated), one event per batch, so
// every day's last figures and every message are seen. (The same story from the PostgreSQL history
// consume stored: item-history.ts.)

import { ALERT_LOG_DAYS } from '../consume/alert-relay.ts'
import type { Alert } from '../core/alerts.ts'
import type { CoreConfig } from '../core/config.ts'
import { Engine } from '../core/engine.ts'
import type { DailyDelta, MetricsRow } from '../core/rows.ts'
import { formatDay } from '../core/time.ts'
import type { InputFile } from '../sources/files.ts'
import { readParsed } from '../sources/parsed.ts'

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
  row: DayFigures | null
  /** Alert messages raised on this as-of day, in order. */
  alerts: Alert[]
}

/** What the story shows of the item's figures at a close (a MetricsRow has them all). */
export type DayFigures = Pick<
  MetricsRow,
  'stockoutRisk' | 'riskLevel' | 'onOrder' | 'reorderQuantity' | 'expectedStockoutDate'
>

/** Where the story was read from (as the backtest report names its source). */
export type StorySource = { kind: 'files'; files: string[] } | { kind: 'postgresql'; database: string }

export interface ItemStory {
  sku: string
  warehouseId: string
  source: StorySource
  /** Lines read in all (files only; 0 for the PostgreSQL history). */
  linesRead: number
  /**
   * Files: the item's valid events read, duplicates included. PostgreSQL: the events applied (the
   * history keeps no count of an item's duplicates, so `duplicates` is null there).
   */
  events: number
  duplicates: number | null
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
  const days = new StoryDays()
  const dayOfStory = (day: number) => days.at(day)
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
    for await (const chunk of readParsed(input)) {
      for (const parsed of chunk.results) {
        if (parsed === null) continue
        linesRead++
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
    source: { kind: 'files', files: inputs.map((input) => input.path) },
    linesRead,
    events,
    duplicates,
    days: days.sorted(),
    final,
    reason: final === null ? '' : engine.reasonOf(sku, warehouseId),
    otherItems: [...others],
  }
}

/** The story's days by day number, each made (quiet, empty) when first named. */
export class StoryDays {
  private readonly days = new Map<number, ItemDay>()

  at(day: number): ItemDay {
    let entry = this.days.get(day)
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
      this.days.set(day, entry)
    }
    return entry
  }

  sorted(): ItemDay[] {
    return [...this.days.values()].sort((a, b) => a.day - b.day)
  }
}

/**
 * A day's cells for the terminal table and the page, in the order of their headers: empty where
 * the day has no such figure (a quiet day's units, a day without a close), `unknown` where the
 * figure is not known (the stock, hence the risk, before a count).
 */
export function dayCells(day: ItemDay, unknown: string): string[] {
  const figure = (value: number | null) =>
    value === null ? unknown : Number.isInteger(value) ? String(value) : value.toFixed(1)
  const row = day.row
  return [
    formatDay(day.day),
    day.quiet ? '' : figure(day.sold),
    day.quiet ? '' : figure(day.returned),
    day.quiet ? '' : figure(day.received),
    day.quiet ? '' : figure(day.adjusted),
    day.quiet ? '' : figure(day.closingOnHand),
    day.stockout ? 'out' : '',
    row === null ? '' : row.stockoutRisk === null ? unknown : row.stockoutRisk.toFixed(3),
    row?.riskLevel ?? '',
    row === null ? '' : figure(row.onOrder),
    row === null ? '' : figure(row.reorderQuantity),
    row?.expectedStockoutDate == null ? '' : formatDay(row.expectedStockoutDate),
  ]
}

/** What the PostgreSQL history holds of the alert messages. */
export const HISTORY_ALERTS = `alert messages: every one consume committed in the last ${ALERT_LOG_DAYS} days, sent or waiting (analytics.alert_outbox; replay --sinks postgres stores none)`

/** "9 events (1 duplicate ignored)"; the PostgreSQL history counts the events applied. */
export function storyCounts(story: ItemStory): string {
  if (story.source.kind === 'postgresql') return `${story.events} events applied`
  const duplicates = story.duplicates ?? 0
  if (duplicates === 0) return `${story.events} events`
  return `${story.events} events (${duplicates} ${duplicates === 1 ? 'duplicate' : 'duplicates'} ignored)`
}
