// SPEC §3: the state of one item, updated in arrival order.
// Kept small on purpose (the target is ≤ 400 bytes an item at a million items): only the 30 days
// of sales that the metrics can still see and the event ids inside the deduplication window.
import type { InventoryEvent } from './event.ts'
import { dayOf } from './time.ts'

/** Days of sales kept: W_30 never reaches further back than D − 29. */
export const SALES_WINDOW_DAYS = 30

export class ItemState {
  /** `{sku}:{warehouse_id}` */
  readonly key: string
  /** null while unknown (SPEC §3). */
  onHand: number | null = null
  firstDay = Number.POSITIVE_INFINITY
  /** Largest accepted event time, epoch ms; D = dayOf(latestTs). */
  latestTs = Number.NEGATIVE_INFINITY
  eventCount = 0
  /** The lead_time_days of the most recently arrived event that carried one. */
  leadTimeOverride: number | null = null
  /** The as-of day of the last alert, so that at most one is emitted per day D. */
  lastAlertDay = Number.NEGATIVE_INFINITY
  /** Pairs (day, units sold) for the days D − 29 … D that had sales, ascending by day. */
  sales: number[] | null = null
  /** Pairs (event_id, timestamp) of accepted events still inside the deduplication window. */
  recentIds: (string | number)[] | null = null

  constructor(key: string) {
    this.key = key
  }

  get asOfDay(): number {
    return dayOf(this.latestTs)
  }
}

/** SPEC §2 duplicates: the same event_id as an accepted event of this item still inside the window. */
export function isDuplicate(state: ItemState, eventId: string): boolean {
  const recent = state.recentIds
  if (recent === null) return false
  for (let i = 0; i < recent.length; i += 2) if (recent[i] === eventId) return true
  return false
}

/** Applies an accepted, non-duplicate event to the item's state. */
export function applyEvent(state: ItemState, event: InventoryEvent, dedupWindowMs: number): void {
  const day = dayOf(event.ts)
  state.eventCount++
  if (day < state.firstDay) state.firstDay = day
  if (event.ts > state.latestTs) advanceLatest(state, event.ts, dedupWindowMs)
  rememberId(state, event.eventId, event.ts, dedupWindowMs)
  if (event.type === 'sale') recordSale(state, day, event.quantity)
  state.onHand = nextOnHand(state.onHand, event)
  if (event.leadTimeDays !== null) state.leadTimeOverride = event.leadTimeDays
}

/** On-hand after an event: the arithmetic of SPEC §3, then the event's own `on_hand` wins. */
export function nextOnHand(onHand: number | null, event: InventoryEvent): number | null {
  let next = onHand
  switch (event.type) {
    case 'stock_count':
      next = event.quantity
      break
    case 'sale':
      if (next !== null) next -= event.quantity
      break
    default:
      if (next !== null) next += event.quantity
  }
  return event.onHand ?? next
}

function advanceLatest(state: ItemState, ts: number, dedupWindowMs: number): void {
  state.latestTs = ts
  const oldestDay = dayOf(ts) - SALES_WINDOW_DAYS + 1
  const sales = state.sales
  if (sales !== null && (sales[0] as number) < oldestDay) {
    let keepFrom = 0
    while (keepFrom < sales.length && (sales[keepFrom] as number) < oldestDay) keepFrom += 2
    state.sales = keepFrom === sales.length ? null : sales.slice(keepFrom)
  }
  const recent = state.recentIds
  if (recent !== null) state.recentIds = keepInsideWindow(recent, ts - dedupWindowMs)
}

function keepInsideWindow(recent: (string | number)[], oldestTs: number): (string | number)[] | null {
  let kept: (string | number)[] | null = null
  for (let i = 0; i < recent.length; i += 2) {
    if ((recent[i + 1] as number) >= oldestTs) {
      kept ??= []
      kept.push(recent[i] as string, recent[i + 1] as number)
    }
  }
  return kept
}

function rememberId(state: ItemState, eventId: string, ts: number, dedupWindowMs: number): void {
  if (ts < state.latestTs - dedupWindowMs) return
  if (state.recentIds === null) state.recentIds = [eventId, ts]
  else state.recentIds.push(eventId, ts)
}

function recordSale(state: ItemState, day: number, quantity: number): void {
  if (day <= state.asOfDay - SALES_WINDOW_DAYS) return
  const sales = state.sales
  if (sales === null) {
    state.sales = [day, quantity]
    return
  }
  // Events mostly arrive in time order, so search from the end.
  let i = sales.length - 2
  while (i >= 0 && (sales[i] as number) > day) i -= 2
  if (i >= 0 && sales[i] === day) sales[i + 1] = (sales[i + 1] as number) + quantity
  else sales.splice(i + 2, 0, day, quantity)
}
