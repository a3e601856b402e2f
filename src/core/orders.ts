// SPEC §3 open orders: replenishment already on its way, per order_id of an item, and the item's
// own record of how its deliveries kept their promises (the risk reads it: late and short receipts).
import type { InventoryEvent } from './event.ts'
import { dayOf } from './time.ts'

/** An order with nothing open is forgotten this many days after its expected day (SPEC §3). */
export const FORGET_AFTER_DAYS = 90
/**
 * Hard bound on the orders remembered per item. SPEC §3 keeps an open order until it is received
 * or cancelled; a producer that never closes its orders would grow the state without end, so past
 * this many the order expected earliest is dropped (documented in the README).
 */
export const MAX_ORDERS = 64
/** Deliveries remembered for the item's record of lateness and fill (the most recent ones). */
export const DELIVERY_RECORD = 8
/** Unplanned receipts remembered: their rhythm stands in for the orders an item never announces. */
export const UNPLANNED_RECORD = 8
/** Received orders remembered for the item's reorder record (how it places its orders). */
export const REORDER_RECORD = 8

export interface Order {
  id: string
  /** Units on the most recently arrived purchase_order of this id; null: only receipts seen so far. */
  ordered: number | null
  /** Expected UTC day (from expected_at, or the order's time + the item's lead time); NaN while unknown. */
  expectedDay: number
  /** Units received against this order. */
  received: number
  /** The day of the latest receipt or order event: forgets receipt-only entries that never see their order. */
  lastDay: number
  /** Whether its first receipt has been entered in the delivery record. */
  recorded: boolean
  /**
   * When its first purchase_order arrived (the item's event count then; NaN while only receipts):
   * SPEC §3's "the order seen first" among open orders expected the same day.
   */
  placedAt: number
  /** The day of its first purchase_order; NaN while only receipts. */
  placedDay: number
  /** The inventory position (on hand + on order) just before its first purchase_order; NaN unknown. */
  placedPosition: number
  /**
   * Its expected day came from LEAD_TIME_DAYS alone: its latest purchase_order had no expected_at and
   * the item no lead_time_days. The risk then expects it by the item's own record (receipts.ts).
   */
  undated: boolean
}

/** Less than this is floating-point dust (0.3 − (0.1 + 0.2)), not units still open. */
const DUST = 1e-9

export function openQuantity(order: Order): number {
  if (order.ordered === null) return 0
  const open = order.ordered - order.received
  return open > DUST ? open : 0
}

/** on_order of SPEC §3: the sum of the open quantities. */
export function onOrder(orders: readonly Order[] | null): number {
  if (orders === null) return 0
  let sum = 0
  for (const order of orders) sum += openQuantity(order)
  return sum
}

/** The item's record: pairs (days late, share of the open units the first receipt brought), oldest first. */
export type DeliveryRecord = number[]

export interface OrderBook {
  orders: Order[] | null
  deliveries: DeliveryRecord | null
  /**
   * Quadruples (day, units, on-hand just before (NaN unknown), whole days the item had stood out of
   * stock right before that day) of the latest receipts no known order accounted for, by day.
   */
  unplanned: number[] | null
  /**
   * Triples (inventory position when placed, days from placing to the first receipt, units ordered)
   * of the latest orders received: the item's own reorder rule, as it has shown it.
   */
  reorders: number[] | null
}

/**
 * A purchase_order: places, changes (a later event of the same id) or cancels (quantity 0) an
 * order. `arrival`: the item's event count, which orders ties.
 */
export function placeOrder(
  book: OrderBook,
  event: InventoryEvent,
  leadTimeDays: number,
  arrival: number,
  onHand: number | null,
  leadTimeStated: boolean,
): void {
  const id = event.orderId as string
  const expectedDay = dayOf(event.expectedAt ?? event.ts + leadTimeDays * 86_400_000)
  const undated = event.expectedAt === null && !leadTimeStated
  const day = dayOf(event.ts)
  const order = findOrder(book, id)
  if (order === undefined) {
    addOrder(book, {
      id,
      ordered: event.quantity,
      expectedDay,
      received: 0,
      lastDay: day,
      recorded: false,
      placedAt: arrival,
      placedDay: day,
      placedPosition: onHand === null ? Number.NaN : onHand + onOrder(book.orders),
      undated,
    })
    return
  }
  if (Number.isNaN(order.placedAt)) order.placedAt = arrival
  if (Number.isNaN(order.placedDay)) order.placedDay = day
  order.ordered = event.quantity
  order.expectedDay = expectedDay
  order.undated = undated
  order.lastDay = Math.max(order.lastDay, day)
}

/**
 * A restock. With an order_id it is received against that order (remembered when the order has not
 * arrived yet: that receipt is also unplanned as far as anyone knew); without one, against the open
 * orders by earliest expected day (ties: the order placed first), the rest of it against the next;
 * a receipt that no open order takes any of is an unplanned receipt (remembered for the risk, with
 * the stock it came at and, when that was none, `daysOut`: how long the item had waited for it).
 */
export function receive(
  book: OrderBook,
  event: InventoryEvent,
  onHandBefore: number | null,
  daysOut: number,
): void {
  const day = dayOf(event.ts)
  if (event.orderId !== null) {
    const order = findOrder(book, event.orderId)
    if (order === undefined) {
      addOrder(book, {
        id: event.orderId,
        ordered: null,
        expectedDay: Number.NaN,
        received: event.quantity,
        lastDay: day,
        recorded: false,
        placedAt: Number.NaN,
        placedDay: Number.NaN,
        placedPosition: Number.NaN,
        undated: false,
      })
      recordUnplanned(book, day, event.quantity, onHandBefore ?? Number.NaN, daysOut)
      return
    }
    receiveAgainst(book, order, event.quantity, day)
    return
  }
  let rest = event.quantity
  while (rest > DUST) {
    const order = earliestOpen(book.orders)
    if (order === undefined) break
    const taken = Math.min(rest, openQuantity(order))
    // Taken by an order already overdue by more than its own lead time, a receipt that names none is
    // likelier a later order's: it teaches the records nothing (they would learn weeks-long leads).
    if (overdueByItsLead(order, book, day)) order.recorded = true
    receiveAgainst(book, order, taken, day)
    rest -= taken
  }
  if (rest === event.quantity) recordUnplanned(book, day, rest, onHandBefore ?? Number.NaN, daysOut)
}

/** Whether `day` is later than the day the risk awaits the order by more than its lead (placed to expected, at least a day). */
function overdueByItsLead(order: Order, book: OrderBook, day: number): boolean {
  return day - awaitedDay(order, book.reorders) > Math.max(1, order.expectedDay - order.placedDay)
}

/** Numbers per receipt of OrderBook.unplanned. */
export const UNPLANNED_FIELDS = 4

function recordUnplanned(
  book: OrderBook,
  day: number,
  units: number,
  levelBefore: number,
  daysOut: number,
): void {
  book.unplanned ??= []
  const record = book.unplanned
  let i = record.length - UNPLANNED_FIELDS
  while (i >= 0 && (record[i] as number) > day) i -= UNPLANNED_FIELDS
  if (i >= 0 && record[i] === day) record[i + 1] = (record[i + 1] as number) + units
  else record.splice(i + UNPLANNED_FIELDS, 0, day, units, levelBefore, daysOut)
  if (record.length > UNPLANNED_FIELDS * UNPLANNED_RECORD) record.splice(0, UNPLANNED_FIELDS)
}

function receiveAgainst(book: OrderBook, order: Order, quantity: number, day: number): void {
  const open = openQuantity(order)
  if (!order.recorded && order.ordered !== null && open > 0) {
    order.recorded = true
    recordDelivery(book, day - awaitedDay(order, book.reorders), Math.min(1, quantity / open))
    if (!Number.isNaN(order.placedPosition))
      // A receipt dated before its order (a late event) came at once, not in negative days.
      recordReorder(book, order.placedPosition, Math.max(0, day - order.placedDay), order.ordered)
  }
  order.received += quantity
  order.lastDay = Math.max(order.lastDay, day)
}

/**
 * The day the risk awaits an order: an undated one by its placing day plus the item's usual days to a
 * first receipt (the lower median of its reorder record), when it has that record, and no later than
 * its expected day; else its expected day. The default lead time says nothing of this item's supplier:
 * a store that orders in the evening for the next morning would otherwise wait a week for every order
 * its system sent without a date. Later than the default is left to the delivery record, which notes
 * each undated order's lateness against this same day (receiveAgainst), so one order's lateness is not
 * counted twice.
 */
export function awaitedDay(order: Order, reorders: readonly number[] | null): number {
  if (!order.undated || reorders === null || Number.isNaN(order.placedDay)) return order.expectedDay
  return Math.min(order.expectedDay, order.placedDay + usualLead(reorders))
}

/** The lower median of the days to a first receipt of the reorder record (triples). */
function usualLead(reorders: readonly number[]): number {
  const leads: number[] = []
  for (let i = 1; i < reorders.length; i += 3) leads.push(reorders[i] as number)
  leads.sort((a, b) => a - b)
  return leads[(leads.length - 1) >> 1] as number
}

function recordDelivery(book: OrderBook, daysLate: number, fill: number): void {
  book.deliveries ??= []
  book.deliveries.push(daysLate, fill)
  if (book.deliveries.length > 2 * DELIVERY_RECORD) book.deliveries.splice(0, 2)
}

function recordReorder(book: OrderBook, position: number, leadDays: number, units: number): void {
  book.reorders ??= []
  book.reorders.push(position, leadDays, units)
  if (book.reorders.length > 3 * REORDER_RECORD) book.reorders.splice(0, 3)
}

/** Forgets the orders with nothing open 90 days after their expected day (receipt-only ones: after their last receipt). */
export function forgetSettled(book: OrderBook, asOfDay: number): void {
  const orders = book.orders
  if (orders === null) return
  const kept = orders.filter((order) => {
    if (order.ordered === null) return asOfDay - order.lastDay <= FORGET_AFTER_DAYS
    return openQuantity(order) > 0 || asOfDay - order.expectedDay <= FORGET_AFTER_DAYS
  })
  if (kept.length !== orders.length) book.orders = kept.length === 0 ? null : kept
}

/** An order as JSON, which has no NaN: unknown days and arrivals travel as null. */
export type OrderJson = Omit<
  Order,
  'expectedDay' | 'placedAt' | 'placedDay' | 'placedPosition' | 'undated'
> & {
  /** Absent in states stored before it existed. */
  undated?: boolean
  expectedDay: number | null
  /** Absent in states stored before they existed. */
  placedDay?: number | null
  placedPosition?: number | null
  /** Absent in states stored before it existed. */
  placedAt?: number | null
}

export function orderToJson(order: Order): OrderJson {
  return {
    ...order,
    expectedDay: nanToNull(order.expectedDay),
    placedAt: nanToNull(order.placedAt),
    placedDay: nanToNull(order.placedDay),
    placedPosition: nanToNull(order.placedPosition),
  }
}

export function orderFromJson(order: OrderJson): Order {
  return {
    ...order,
    expectedDay: order.expectedDay ?? Number.NaN,
    placedAt: order.placedAt ?? Number.NaN,
    placedDay: order.placedDay ?? Number.NaN,
    placedPosition: order.placedPosition ?? Number.NaN,
    undated: order.undated ?? false,
  }
}

function nanToNull(value: number): number | null {
  return Number.isNaN(value) ? null : value
}

/**
 * The unplanned record as stored: the triples (day, units, level; JSON has no NaN, so an unknown
 * level travels as null) that states and closes held before the days out were kept, and the days
 * out apart, so that what was stored before reads as before (days out unknown: 0).
 */
export interface UnplannedJson {
  unplanned: (number | null)[]
  unplannedDaysOut: number[]
}

export function unplannedToJson(record: readonly number[]): UnplannedJson {
  const unplanned: (number | null)[] = []
  const unplannedDaysOut: number[] = []
  for (let i = 0; i < record.length; i += UNPLANNED_FIELDS) {
    unplanned.push(record[i] as number, record[i + 1] as number, nanToNull(record[i + 2] as number))
    unplannedDaysOut.push(record[i + 3] as number)
  }
  return { unplanned, unplannedDaysOut }
}

export function unplannedFromJson(
  triples: readonly (number | null)[],
  daysOut: readonly number[] | null | undefined,
): number[] {
  const record: number[] = []
  for (let i = 0, j = 0; i < triples.length; i += 3, j++)
    record.push(
      triples[i] as number,
      triples[i + 1] as number,
      triples[i + 2] ?? Number.NaN,
      daysOut?.[j] ?? 0,
    )
  return record
}

function findOrder(book: OrderBook, id: string): Order | undefined {
  if (book.orders === null) return undefined
  for (const order of book.orders) if (order.id === id) return order
  return undefined
}

function addOrder(book: OrderBook, order: Order): void {
  book.orders ??= []
  book.orders.push(order)
  if (book.orders.length > MAX_ORDERS) {
    let oldest = 0
    for (let i = 1; i < book.orders.length; i++)
      if (expectedOrLast(book.orders[i] as Order) < expectedOrLast(book.orders[oldest] as Order)) oldest = i
    book.orders.splice(oldest, 1)
  }
}

function expectedOrLast(order: Order): number {
  return Number.isNaN(order.expectedDay) ? order.lastDay : order.expectedDay
}

/** The open order with the earliest expected day; among equals, the one placed first. */
export function earliestOpen(orders: readonly Order[] | null): Order | undefined {
  if (orders === null) return undefined
  let best: Order | undefined
  for (const order of orders) {
    if (openQuantity(order) <= 0) continue
    if (best === undefined || byExpectedDay(order, best) < 0) best = order
  }
  return best
}

/** Earliest expected day first; among equals, the order placed first. */
export function byExpectedDay(a: Order, b: Order): number {
  return a.expectedDay - b.expectedDay || a.placedAt - b.placedAt
}

/** Whether the item has shown a purchase order (one it still remembers) or a delivery against one. */
export function announcesOrders(book: OrderBook): boolean {
  return book.deliveries !== null || (book.orders?.some((order) => order.ordered !== null) ?? false)
}
