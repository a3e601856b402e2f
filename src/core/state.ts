// SPEC §3: the state of one item, updated in arrival order.
// Kept small on purpose: the 120 days of sales the demand model reads (the metrics see 30 of them),
// the event ids inside the deduplication window, and for the risk the out-of-stock days of those
// 120 days, the open (and
// recently settled) orders, the last deliveries, received orders and unannounced receipts, how the
// last restocks and counts found the stock, and the alert episode.
// Fields stay null until an item needs them, so an item that never orders pays nothing for them.

import { ageWeight, SALES_WINDOW_DAYS } from './demand.ts'
import type { BatchNote } from './engine.ts'
import type { InventoryEvent } from './event.ts'
import { forgetSettled, type Order, type OrderBook, placeOrder, receive } from './orders.ts'
import { noteCount, noteRestock } from './stalls.ts'
import { dayOf } from './time.ts'

/**
 * Relative difference that is the rounding of fractional quantities, not units: an event's on_hand
 * this close to the books is the books' own figure (agrees), books this close to a whole number are
 * that number (wholeIfDust).
 */
const ROUNDING_TOLERANCE = 1e-9

/** What applying an event needs of the settings. */
export interface StateConfig {
  dedupWindowMs: number
  /** LEAD_TIME_DAYS: an order's expected day when neither it nor the item's events say otherwise. */
  leadTimeDays: number
}

/** The item's latest alert episode of SPEC §6, open or closed; null before its first. */
export interface Episode {
  /** False once resolved. A closed episode is kept so that one re-raised on the day it opened continues its message numbers. */
  open: boolean
  /** The as-of day it opened: part of its alert_id. */
  openedDay: number
  /** Messages sent so far (the n of message_id). */
  messages: number
  /** Index in RISK_LEVELS of the highest level reported. */
  highestLevel: number
  /** As-of day of its latest message, for reminders. */
  lastMessageDay: number
}

export class ItemState implements OrderBook {
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
  /** The latest alert episode, if any (see Episode.open). */
  episode: Episode | null = null
  /** Pairs (day, units sold) for the days D − 119 … D that had sales, ascending by day. */
  sales: number[] | null = null
  /**
   * Triples (idHash(event_id), event_id, timestamp) of accepted events still inside the
   * deduplication window. The hash, a number held in the array itself, is compared first: most
   * checks then never read an id string (each a separate object, often not in the cache).
   */
  recentIds: (string | number)[] | null = null
  /** Days of D − 119 … D on which on-hand was known and ≤ 0 (their demand was censored), ascending. */
  outDays: number[] | null = null
  /** Open orders and recently settled ones (SPEC §3). */
  orders: Order[] | null = null
  /** Pairs (days late, fill share) of the latest deliveries against orders, oldest first. */
  deliveries: number[] | null = null
  /** Triples (day, units, on-hand just before) of the latest receipts no known order accounted for. */
  unplanned: number[] | null = null
  /** Triples (inventory position when placed, days to the first receipt, units) of the latest orders received. */
  reorders: number[] | null = null
  /** Pairs (day, what it found: stalls.ts) of the item's latest restock days, oldest first. */
  restocks: number[] | null = null
  /** Quadruples (day, days covered, units missing (negative: found over), found empty: 0 or 1) of the item's latest counts (stalls.ts). */
  counts: number[] | null = null
  /**
   * (units returned less units written off by negative adjustments, each weighted by its age as the
   * demand model weighs a day's sales; the day the weights are taken at; the write-offs' squared
   * units, weighted the same): what the books gain or lose besides sales, receipts and counts
   * (demand.ts, the kept share and the write-offs' variance). A state stored before write-offs
   * counted holds the first two only.
   */
  returns: number[] | null = null
  /**
   * Not part of the item's state: the engine's note while the item is in the batch being built
   * (its latest event, whose alert step waits for the row's risk); null outside a batch.
   * A field rather than a map keyed by item: looking it up after every event cost more than the rest of applying the event.
   */
  inBatch: BatchNote | null = null

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
  const hash = idHash(eventId)
  for (let i = 0; i < recent.length; i += 3) if (recent[i] === hash && recent[i + 1] === eventId) return true
  return false
}

/** FNV-1a of an event id, 32 bits: equal ids, equal hashes. */
export function idHash(eventId: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < eventId.length; i++) hash = Math.imul(hash ^ eventId.charCodeAt(i), 0x01000193)
  return hash
}

/** Applies an accepted, non-duplicate event to the item's state. */
export function applyEvent(state: ItemState, event: InventoryEvent, config: StateConfig): void {
  const day = dayOf(event.ts)
  state.eventCount++
  if (day < state.firstDay) state.firstDay = day
  if (event.ts > state.latestTs) advanceLatest(state, event.ts, config.dedupWindowMs)
  rememberId(state, event.eventId, event.ts, config.dedupWindowMs)
  if (event.leadTimeDays !== null) state.leadTimeOverride = event.leadTimeDays
  if (event.type === 'sale') recordSale(state, day, event.quantity)
  else if (event.type === 'return') recordBooksFlow(state, day, event.quantity)
  // A write-off (damage, spoilage, theft found) is a flow out of the books as sales are; a positive
  // adjustment is mostly a correction (stock found), not a flow, and is left out.
  else if (event.type === 'adjustment' && event.quantity < 0) recordBooksFlow(state, day, event.quantity)
  else if (event.type === 'purchase_order')
    placeOrder(
      state,
      event,
      state.leadTimeOverride ?? config.leadTimeDays,
      state.eventCount,
      state.onHand,
      state.leadTimeOverride !== null,
    )
  else if (event.type === 'restock') {
    noteRestock(state, day)
    receive(
      state,
      event,
      state.onHand,
      state.onHand !== null && state.onHand <= 0 ? daysOutBefore(state, day) : 0,
    )
  }
  const onHand = nextOnHand(state.onHand, event)
  if (state.onHand !== null && onHand !== null) {
    if (event.type === 'stock_count') noteCount(state, day, state.onHand, onHand)
    // An on_hand that agrees with the books is no count: a feed that echoes its system's books on
    // every event would otherwise fill the record with findings of nothing.
    else if (event.onHand !== null) {
      const books = booked(state.onHand, event)
      if (!agrees(books, onHand)) noteCount(state, day, books, onHand)
    }
  }
  state.onHand = onHand
  if (state.onHand !== null && state.onHand <= 0) markOut(state, day)
}

/** On-hand after an event: the arithmetic of SPEC §3, then the event's own `on_hand` wins. */
export function nextOnHand(onHand: number | null, event: InventoryEvent): number | null {
  if (event.type === 'stock_count') return event.onHand ?? event.quantity
  return event.onHand ?? (onHand === null ? null : booked(onHand, event))
}

/** The books after a movement (not a count): what a count or an event's `on_hand` is compared with. */
function booked(onHand: number, event: InventoryEvent): number {
  if (event.type === 'purchase_order') return onHand
  const books = event.type === 'sale' ? onHand - event.quantity : onHand + event.quantity
  return wholeIfDust(books, Math.max(1, Math.abs(onHand), Math.abs(event.quantity)))
}

/**
 * Fractional quantities (produce sold by weight) summed in binary floating point leave dust:
 * 2.35 kg sold as 0.8 + 0.7 + 0.85 leaves 1.1e-16, not 0, so the shelf would never read empty (no
 * stockout day, a risk of 1 every day). SPEC §3's arithmetic is that of the decimal quantities,
 * so books within ROUNDING_TOLERANCE of the operands' size from a whole number are that number.
 */
function wholeIfDust(books: number, size: number): number {
  const whole = Math.round(books) || 0 // not −0
  return Math.abs(books - whole) <= ROUNDING_TOLERANCE * size ? whole : books
}

function advanceLatest(state: ItemState, ts: number, dedupWindowMs: number): void {
  const previousDay = state.asOfDay
  const day = dayOf(ts)
  // Days without events while the stock stood at or below zero were out of stock all day.
  if (state.onHand !== null && state.onHand <= 0 && day > previousDay + 1)
    for (let d = Math.max(previousDay + 1, day - SALES_WINDOW_DAYS + 1); d < day; d++) markOut(state, d)
  state.latestTs = ts
  const oldestDay = day - SALES_WINDOW_DAYS + 1
  const out = state.outDays
  if (out !== null && (out[0] as number) < oldestDay) {
    const kept = out.filter((d) => d >= oldestDay)
    state.outDays = kept.length === 0 ? null : kept
  }
  if (day > previousDay && state.orders !== null) forgetSettled(state, day)
  const sales = state.sales
  if (sales !== null && (sales[0] as number) < oldestDay) {
    let keepFrom = 0
    while (keepFrom < sales.length && (sales[keepFrom] as number) < oldestDay) keepFrom += 2
    state.sales = keepFrom === sales.length ? null : sales.slice(keepFrom)
  }
  const recent = state.recentIds
  if (recent !== null) state.recentIds = keepInsideWindow(recent, ts - dedupWindowMs)
}

/** Drops, in place, the ids that fell out of the window (an event often drops the oldest one). */
function keepInsideWindow(recent: (string | number)[], oldestTs: number): (string | number)[] | null {
  let kept = 0
  for (let i = 0; i < recent.length; i += 3) {
    if ((recent[i + 2] as number) < oldestTs) continue
    if (kept !== i) {
      recent[kept] = recent[i] as number
      recent[kept + 1] = recent[i + 1] as string
      recent[kept + 2] = recent[i + 2] as number
    }
    kept += 3
  }
  if (kept === 0) return null
  recent.length = kept
  return recent
}

function rememberId(state: ItemState, eventId: string, ts: number, dedupWindowMs: number): void {
  if (ts < state.latestTs - dedupWindowMs) return
  const hash = idHash(eventId)
  if (state.recentIds === null) state.recentIds = [hash, eventId, ts]
  else state.recentIds.push(hash, eventId, ts)
}

/** The whole days right before `day` that were (partly) out of stock, back to the window's start. */
function daysOutBefore(state: ItemState, day: number): number {
  const out = state.outDays
  if (out === null) return 0
  let i = out.length - 1
  while (i >= 0 && (out[i] as number) >= day) i--
  let days = 0
  while (i >= 0 && out[i] === day - 1 - days) {
    days++
    i--
  }
  return days
}

/** Marks a day of the window as (partly) out of stock: its sales are a floor of its demand, not the demand. */
function markOut(state: ItemState, day: number): void {
  if (day <= state.asOfDay - SALES_WINDOW_DAYS) return
  const out = state.outDays
  if (out === null) {
    state.outDays = [day]
    return
  }
  let i = out.length - 1
  while (i >= 0 && (out[i] as number) > day) i--
  if (out[i] !== day) out.splice(i + 1, 0, day)
}

/**
 * An on_hand the same as the books up to the rounding of summing fractional quantities (a system
 * echoing its books adds them in its own arithmetic: 10.3 − 0.1 is 10.200000000000001 here).
 */
function agrees(books: number, onHand: number): boolean {
  return Math.abs(books - onHand) <= ROUNDING_TOLERANCE * Math.max(1, Math.abs(onHand))
}

/** Adds a return (or, negative, a write-off) to the item's weighted returns, ageing them to the latest day first. */
function recordBooksFlow(state: ItemState, day: number, quantity: number): void {
  const square = quantity < 0 ? quantity * quantity : 0
  const returns = state.returns
  if (returns === null) state.returns = [quantity, day, square]
  else if (day >= (returns[1] as number)) {
    const age = ageWeight(day - (returns[1] as number))
    returns[0] = (returns[0] as number) * age + quantity
    returns[2] = (returns[2] ?? 0) * age + square
    returns[1] = day
  } else {
    const age = ageWeight((returns[1] as number) - day)
    returns[0] = (returns[0] as number) + quantity * age
    returns[2] = (returns[2] ?? 0) + square * age
  }
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
