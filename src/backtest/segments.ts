// Segments of the backtest: the scores of the model for kinds of items, because one figure over all
// item-days hides where the risk works and where it does not (a model can rank fast movers well and
// still be useless for the intermittent long tail, or for items whose replenishment it cannot see).
// Pure. Each prediction is classified from the item's state at the close it was made at, as of its
// day t, so the PostgreSQL history (which rebuilds that state from the closes kept in
// analytics.daily_inventory) classifies it exactly as the event files do.
//
// Demand class, over W_30 = max(t − 29, first_day) … t (SPEC §4's window):
//   ADI (average inter-demand interval) = days of W_30 on which the item could sell / days with a
//                  sale (∞ without one). A day out of stock without a sale is left out: nothing
//                  could sell, so it says nothing about how often demand comes (a fast mover out
//                  of stock for a week is not intermittent).
//   slow           velocity_30d < 1 unit a day
//   intermittent   not slow, and ADI > 1.32: the Syntetos–Boylan (2005) cut-off between smooth or
//                  erratic and intermittent or lumpy demand (a sale on fewer than about 3 days in 4)
//   fast           the rest: at least a unit a day, sold on most days
// Slow is tested first because units are whole: an item that sells on 3 days in 4 or more sells at
// least 0.76 a day, so "regular but below a unit a day" (intermittent tested first) is all but
// empty, while nearly every item below a unit a day is also intermittent by its ADI. Tested this
// way, the three segments are the long tail, the lumpy sellers and the regular ones.
// Purchase orders: with = the state holds orders (open, recently settled, or receipts against an
// order id) or a record of deliveries against orders (state.orders !== null || state.deliveries
// !== null); without = neither, so the risk sees no replenishment coming.
import type { ItemState } from '../core/state.ts'
import { baseRate, brierScore, brierSkillScore, calibration, calibrationError, rocAuc } from './scores.ts'

/** Syntetos–Boylan: demand with a mean interval between demands above this is intermittent. */
export const INTERMITTENT_ADI = 1.32
/** Below this velocity_30d (units a day) an item is slow, however its sales are spread. */
export const SLOW_VELOCITY = 1

export type DemandClass = 'fast' | 'slow' | 'intermittent'
export const DEMAND_CLASSES: readonly DemandClass[] = ['fast', 'slow', 'intermittent']

// A prediction's segment packs into one byte: the demand class in the low bits, one bit for orders.
const DEMAND_MASK = 3
const WITH_ORDERS = 4

/**
 * The days of W_30 as of `asOfDay` on which the item could sell (not out of stock, or out of stock
 * but with a sale) divided by the days with a sale; Infinity when none had one.
 */
export function averageDemandInterval(state: ItemState, asOfDay: number): number {
  const start = Math.max(asOfDay - 29, state.firstDay)
  const sales = state.sales ?? NONE
  // Pairs (day, units), ascending; a close carried forward past D has old days fall out of W_30.
  let first = sales.length
  while (first >= 2 && (sales[first - 2] as number) >= start) first -= 2
  let salesDays = 0
  for (let i = first; i < sales.length && (sales[i] as number) <= asOfDay; i += 2)
    if ((sales[i + 1] as number) > 0) salesDays++
  if (salesDays === 0) return Number.POSITIVE_INFINITY
  // Both lists ascending: one walk finds whether an out-of-stock day had a sale.
  let days = asOfDay - start + 1
  let i = first
  for (const day of state.outDays ?? NONE) {
    if (day < start || day > asOfDay) continue
    while (i < sales.length && (sales[i] as number) < day) i += 2
    if (!(sales[i] === day && (sales[i + 1] as number) > 0)) days--
  }
  return days / salesDays
}

const NONE: readonly number[] = []

export function demandClass(adi: number, velocity30d: number): DemandClass {
  if (velocity30d < SLOW_VELOCITY) return 'slow'
  return adi > INTERMITTENT_ADI ? 'intermittent' : 'fast'
}

/** Whether the item has (or recently had) purchase orders the risk can read. */
export function hasPurchaseOrders(state: ItemState): boolean {
  return state.orders !== null || state.deliveries !== null
}

/** The segment byte of a prediction at the close of `asOfDay`; `velocity30d` as computeMetrics gives it. */
export function segmentOf(state: ItemState, asOfDay: number, velocity30d: number): number {
  const demand = DEMAND_CLASSES.indexOf(demandClass(averageDemandInterval(state, asOfDay), velocity30d))
  return demand | (hasPurchaseOrders(state) ? WITH_ORDERS : 0)
}

export function demandClassOf(segment: number): DemandClass {
  return DEMAND_CLASSES[segment & DEMAND_MASK] as DemandClass
}

export function withOrders(segment: number): boolean {
  return (segment & WITH_ORDERS) !== 0
}

export type SegmentName = DemandClass | 'with_purchase_orders' | 'without_purchase_orders'

export interface Segment {
  name: SegmentName
  label: string
  /** Whether a prediction of this segment byte belongs to it. */
  holds: (segment: number) => boolean
}

/** The segments reported, in order: the demand classes split the predictions, and so do the orders. */
export const SEGMENTS: readonly Segment[] = [
  { name: 'fast', label: 'fast movers', holds: (s) => demandClassOf(s) === 'fast' },
  { name: 'slow', label: 'slow movers', holds: (s) => demandClassOf(s) === 'slow' },
  { name: 'intermittent', label: 'intermittent demand', holds: (s) => demandClassOf(s) === 'intermittent' },
  { name: 'with_purchase_orders', label: 'with purchase orders', holds: withOrders },
  { name: 'without_purchase_orders', label: 'without purchase orders', holds: (s) => !withOrders(s) },
]

export const SEGMENT_RULE =
  'slow: velocity_30d < 1 a day; intermittent: otherwise, sold on fewer than 3 days in 4 of W_30 that were not out of stock (mean interval between sales > 1.32 days, Syntetos–Boylan); fast: the rest. With purchase orders: the item has or recently had orders, or deliveries against them'

/** The rule in a few words, for the terminal. */
export const SEGMENT_RULE_SHORT =
  'as of each close: slow < 1 unit a day; intermittent: sold on < 3 days in 4; fast: the rest'

export interface SegmentScores {
  name: SegmentName
  label: string
  n: number
  stockouts: number
  baseRate: number | null
  brierSkillScore: number | null
  ece: number | null
  rocAuc: number | null
}

/** The model's headline scores within each segment. */
export function scoreSegments(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  segment: ArrayLike<number>,
): SegmentScores[] {
  return SEGMENTS.map(({ name, label, holds }) => {
    const ps: number[] = []
    const ys: number[] = []
    for (let i = 0; i < p.length; i++) {
      if (!holds(segment[i] as number)) continue
      ps.push(p[i] as number)
      ys.push(y[i] as number)
    }
    const rate = baseRate(ys)
    let stockouts = 0
    for (const v of ys) stockouts += v
    return {
      name,
      label,
      n: ps.length,
      stockouts,
      baseRate: rate,
      brierSkillScore: brierSkillScore(brierScore(ps, ys), rate),
      ece: calibrationError(calibration(ps, ys)),
      rocAuc: rocAuc(ps, ys),
    }
  })
}
