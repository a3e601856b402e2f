// The backtest's predictions and outcomes: what the core would have predicted at the close of each
// day, and the stockouts that followed. Pure (events or closes in, arrays out); the same ItemState,
// applyEvent, computeMetrics and stockoutRisk as replay and consume, so the formulas cannot drift.
// ClosePredictor is shared by both sources; BacktestCollector is the event files' pass, and
// history.ts feeds the closes consume stored (src/core/close.ts: the same close, taken by the engine).
// Each scored prediction also keeps its on-hand and its item's segment (segments.ts), taken in
// ClosePredictor.closeDays from the same state as the risk, so both sources agree on them too.
//
// The close of day t, for an item (events in arrival order, as replay applies them):
//   the item's state at the moment its stream first moves past t, i.e. just before the first
//   arriving event dated after t (or at the end of the input). That is every event that had
//   arrived by then: all are dated ≤ t, late ones included, while an event dated ≤ t that
//   arrives after the stream has moved past t is not in it: it was not known at the close.
//   Days without events carry the close forward; the metrics are then taken as of t
//   (computeMetrics(state, t)), so the 7- and 30-day windows slide over the quiet days.
//
// What happened (the outcome) uses the daily history of SPEC §3, with every event wherever it
// arrived: day d is a stockout day when on-hand was known and ≤ 0 right after some event dated d,
// or, for a day without events, when the carried-forward close (the closing_on_hand of the latest
// earlier day with events) is known and ≤ 0. A prediction at t with horizon h = ⌈lead time at
// the close of t⌉ has y = 1 when some stockout day falls in (t, t + h]. It is scored only when
// t + h ≤ E, the latest event day of the whole input.

import type { CoreConfig, ResolvedConfig } from '../core/config.ts'
import { resolveConfig } from '../core/config.ts'
import { type InventoryEvent, itemKey } from '../core/event.ts'
import { computeMetrics } from '../core/metrics.ts'
import { stockoutRisk } from '../core/risk.ts'
import { applyEvent, ItemState, isDuplicate } from '../core/state.ts'
import { dayOf } from '../core/time.ts'
import { UsageError } from '../errors.ts'
import { segmentOf } from './segments.ts'
import { type Bound, earliestPossibleDay, latestPossibleDay, resolveWindow, type Window } from './window.ts'

/** The scored predictions, one entry each, ordered by item key, then day. */
export interface Predictions {
  length: number
  /** Index into BacktestData.itemKeys. */
  item: Int32Array
  /** t, the day of the close the prediction was made at. */
  day: Int32Array
  /** stockout_risk as of t. */
  risk: Float64Array
  /** The naive baseline: 1 when on_hand < velocity_30d × lead time, else 0. */
  baseline: Float64Array
  /** ⌈lead time⌉ at the close of t: the outcome looks at days t + 1 … t + horizon. */
  horizon: Int32Array
  /** y: 1 when the item stocked out within the horizon. */
  outcome: Uint8Array
  /** The first stockout day after t when y = 1 (the stockout the prediction was about), else −1. */
  stockoutDay: Int32Array
  /** On-hand at the close of t (known and above 0: only those closes are scored). */
  onHand: Float64Array
  /** The item's segment as of t (segments.ts: demand class and purchase orders, one byte). */
  segment: Uint8Array
}

export interface CloseCounts {
  /** Item-days in the window: every close of an item that existed by then. */
  closes: number
  scored: number
  /** Would have been scored, but t + horizon runs past the end of the data. */
  leftOut: number
  /** No prediction: on-hand unknown at the close. */
  onHandUnknown: number
  /** No prediction: on-hand ≤ 0 at the close (already out of stock). */
  outOfStock: number
}

export interface BacktestData {
  /** E: the latest event day of the input. */
  endDay: number
  window: Window
  itemKeys: string[]
  counts: CloseCounts
  predictions: Predictions
}

export interface TrackedItem {
  key: string
  index: number
  /** Daily history of SPEC §3 as triples (day, closing on-hand or NaN when unknown, stockout 0/1), by day. */
  daily: number[]
}

const SCORED = 0
const ON_HAND_UNKNOWN = 1
const OUT_OF_STOCK = 2

/** The closes taken while reading, window not yet known: columns that grow. */
class Closes {
  length = 0
  item = new Int32Array(1024)
  day = new Int32Array(1024)
  kind = new Uint8Array(1024)
  risk = new Float64Array(1024)
  baseline = new Float64Array(1024)
  horizon = new Int32Array(1024)
  onHand = new Float64Array(1024)
  segment = new Uint8Array(1024)

  push(item: number, day: number, kind: number): number {
    if (this.length === this.item.length) this.grow()
    const i = this.length++
    this.item[i] = item
    this.day[i] = day
    this.kind[i] = kind
    return i
  }

  /** What a scored close predicts, set on the close `i` that push returned. */
  predict(i: number, risk: number, baseline: number, horizon: number, onHand: number, segment: number): void {
    this.risk[i] = risk
    this.baseline[i] = baseline
    this.horizon[i] = horizon
    this.onHand[i] = onHand
    this.segment[i] = segment
  }

  private grow(): void {
    const size = this.item.length * 2
    const grown = <T extends Int32Array | Uint8Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(size)
      next.set(old)
      return next
    }
    this.item = grown(this.item, (n) => new Int32Array(n))
    this.day = grown(this.day, (n) => new Int32Array(n))
    this.kind = grown(this.kind, (n) => new Uint8Array(n))
    this.risk = grown(this.risk, (n) => new Float64Array(n))
    this.baseline = grown(this.baseline, (n) => new Float64Array(n))
    this.horizon = grown(this.horizon, (n) => new Int32Array(n))
    this.onHand = grown(this.onHand, (n) => new Float64Array(n))
    this.segment = grown(this.segment, (n) => new Uint8Array(n))
  }
}

/**
 * The part both sources share: the predictions of each close, from the item's state at that close,
 * and the outcomes from the daily histories. The file source feeds it while applying events; the
 * PostgreSQL source feeds it the closes and the history that consume stored.
 */
export class ClosePredictor {
  readonly config: ResolvedConfig
  private readonly since: Bound
  private readonly until: Bound
  private readonly items: TrackedItem[] = []
  private readonly closes = new Closes()

  constructor(core: CoreConfig, since: Bound, until: Bound) {
    this.config = resolveConfig(core)
    this.since = since
    this.until = until
  }

  addItem(key: string, daily: number[] = []): TrackedItem {
    const item = { key, index: this.items.length, daily }
    this.items.push(item)
    return item
  }

  /**
   * Takes the closes of days D … through of an item whose state stands at the close of D (its
   * as-of day), keeping those that can fall in the window. `anchorSoFar`: the day relative bounds
   * count back from, or the latest it can be known to be by now.
   */
  closeDays(item: TrackedItem, state: ItemState, through: number, anchorSoFar: number): void {
    const first = Math.max(state.asOfDay, earliestPossibleDay(this.since, anchorSoFar))
    const last = Math.min(through, latestPossibleDay(this.until))
    if (first > last) return
    const onHand = state.onHand
    if (onHand === null || onHand <= 0) {
      const kind = onHand === null ? ON_HAND_UNKNOWN : OUT_OF_STOCK
      for (let t = first; t <= last; t++) this.closes.push(item.index, t, kind)
      return
    }
    const leadTime = state.leadTimeOverride ?? this.config.leadTimeDays
    const horizon = Math.ceil(leadTime)
    for (let t = first; t <= last; t++) {
      const metrics = computeMetrics(state, t)
      const risk = stockoutRisk(state, this.config, t) as number
      const baseline = onHand < metrics.velocity30d * leadTime ? 1 : 0
      const segment = segmentOf(state, t, metrics.velocity30d)
      this.closes.predict(this.closes.push(item.index, t, SCORED), risk, baseline, horizon, onHand, segment)
    }
  }

  resolveWindow(anchorDay: number, endDay: number): Window {
    return resolveWindow(this.since, this.until, anchorDay, endDay)
  }

  /**
   * Resolves the window (relative bounds counted back from `anchorDay`) and labels the outcomes;
   * E = `endDay`, the latest event day of the data.
   */
  finish(endDay: number, anchorDay: number): BacktestData {
    if (this.items.length === 0) throw new UsageError('no accepted events in the input: nothing to backtest')
    const window = this.resolveWindow(anchorDay, endDay)
    const stockouts = this.items.map((item) => stockoutDays(item.daily, endDay))
    const itemKeys = this.items.map((item) => item.key)
    return { endDay, window, itemKeys, ...labelOutcomes(this.closes, window, endDay, stockouts, itemKeys) }
  }
}

/** The file source's pass: events in arrival order, as replay applies them. */
export class BacktestCollector {
  private readonly predictor: ClosePredictor
  private readonly items = new Map<string, { tracked: TrackedItem; state: ItemState }>()
  private latestDay = Number.NEGATIVE_INFINITY

  constructor(core: CoreConfig, since: Bound, until: Bound) {
    this.predictor = new ClosePredictor(core, since, until)
  }

  /** One accepted event, in arrival order; duplicates (SPEC §2) are recognized and ignored. */
  process(event: InventoryEvent): 'applied' | 'duplicate' {
    const key = itemKey(event.sku, event.warehouseId)
    let item = this.items.get(key)
    if (item === undefined) {
      item = { tracked: this.predictor.addItem(key), state: new ItemState(key) }
      this.items.set(key, item)
    } else if (isDuplicate(item.state, event.eventId)) {
      return 'duplicate'
    }
    const day = dayOf(event.ts)
    if (day > this.latestDay) this.latestDay = day
    const state = item.state
    // The item's stream moves past its day D: the closes of D … day − 1 are final now.
    if (state.eventCount > 0 && day > state.asOfDay)
      this.predictor.closeDays(item.tracked, state, day - 1, this.latestDay)
    applyEvent(state, event, this.predictor.config)
    recordDay(item.tracked.daily, day, state.onHand)
    return 'applied'
  }

  /** Ends the input: closes every item through E (which is also the window's anchor). */
  finish(): BacktestData {
    const endDay = this.latestDay
    for (const { tracked, state } of this.items.values())
      this.predictor.closeDays(tracked, state, endDay, endDay)
    return this.predictor.finish(endDay, endDay)
  }
}

/** Updates the daily history triple of `day` after an event: the close, and the stockout flag. */
function recordDay(daily: number[], day: number, onHand: number | null): void {
  const close = onHand ?? Number.NaN
  const out = onHand !== null && onHand <= 0 ? 1 : 0
  // Events mostly arrive in day order: search from the end.
  let i = daily.length - 3
  while (i >= 0 && (daily[i] as number) > day) i -= 3
  if (i >= 0 && daily[i] === day) {
    daily[i + 1] = close
    if (out === 1) daily[i + 2] = 1
  } else {
    daily.splice(i + 3, 0, day, close, out)
  }
}

/**
 * The item's stockout days up to E, ascending: days with events whose stockout flag is set, and
 * days without events whose carried-forward close is known and ≤ 0.
 */
export function stockoutDays(daily: readonly number[], endDay: number): number[] {
  const days: number[] = []
  for (let i = 0; i < daily.length; i += 3) {
    const day = daily[i] as number
    if (daily[i + 2] === 1) days.push(day)
    if ((daily[i + 1] as number) <= 0) {
      const next = i + 3 < daily.length ? (daily[i + 3] as number) : endDay + 1
      for (let d = day + 1; d < next; d++) days.push(d)
    }
  }
  return days
}

/** The first element of the ascending `days` greater than `day`, or undefined. */
function firstAfter(days: readonly number[], day: number): number | undefined {
  let lo = 0
  let hi = days.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((days[mid] as number) <= day) lo = mid + 1
    else hi = mid
  }
  return days[lo]
}

function labelOutcomes(
  closes: Closes,
  window: Window,
  endDay: number,
  stockouts: readonly number[][],
  itemKeys: readonly string[],
): { counts: CloseCounts; predictions: Predictions } {
  const counts: CloseCounts = { closes: 0, scored: 0, leftOut: 0, onHandUnknown: 0, outOfStock: 0 }
  const kept: number[] = []
  for (let i = 0; i < closes.length; i++) {
    const t = closes.day[i] as number
    if (t < window.since || t > window.until) continue
    counts.closes++
    const kind = closes.kind[i]
    if (kind === ON_HAND_UNKNOWN) counts.onHandUnknown++
    else if (kind === OUT_OF_STOCK) counts.outOfStock++
    else if (t + (closes.horizon[i] as number) > endDay) counts.leftOut++
    else kept.push(i)
  }
  const n = kept.length
  counts.scored = n
  // A canonical order, by item key then day, so that sums (and so every figure, to the last bit) do
  // not depend on how the items' events interleave in the input.
  const rank = new Float64Array(itemKeys.length)
  itemKeys
    .map((key, index) => ({ key, index }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .forEach(({ index }, r) => {
      rank[index] = r
    })
  const order = new Float64Array(closes.length)
  for (const i of kept)
    order[i] = (rank[closes.item[i] as number] as number) * 65_536 + (closes.day[i] as number)
  kept.sort((a, b) => (order[a] as number) - (order[b] as number))
  const predictions: Predictions = {
    length: n,
    item: new Int32Array(n),
    day: new Int32Array(n),
    risk: new Float64Array(n),
    baseline: new Float64Array(n),
    horizon: new Int32Array(n),
    outcome: new Uint8Array(n),
    stockoutDay: new Int32Array(n),
    onHand: new Float64Array(n),
    segment: new Uint8Array(n),
  }
  for (let k = 0; k < n; k++) {
    const i = kept[k] as number
    const item = closes.item[i] as number
    const t = closes.day[i] as number
    const horizon = closes.horizon[i] as number
    const next = firstAfter(stockouts[item] as number[], t)
    const stockedOut = next !== undefined && next <= t + horizon
    predictions.item[k] = item
    predictions.day[k] = t
    predictions.risk[k] = closes.risk[i] as number
    predictions.baseline[k] = closes.baseline[i] as number
    predictions.horizon[k] = horizon
    predictions.outcome[k] = stockedOut ? 1 : 0
    predictions.stockoutDay[k] = stockedOut ? (next as number) : -1
    predictions.onHand[k] = closes.onHand[i] as number
    predictions.segment[k] = closes.segment[i] as number
  }
  return { counts, predictions }
}
