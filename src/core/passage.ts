// SPEC §5's risk given when the receipts come: P(the stock reaches 0 on some day of the horizon).
//
// Running out before or between receipts (first passage): with receipts arriving on days a₁ < a₂ …
// the stock runs out when the demand of days D+1 … aⱼ − 1, and of the share of day aⱼ that comes
// before its delivery (receipts.ts receiptShare), reaches the stock plus the receipts before aⱼ, for
// some j, or the demand of the whole horizon reaches the stock plus every receipt.
// Demand only grows, so only those checkpoints matter. The chance of the union is built up one
// checkpoint at a time: P ← P + P(below the previous checkpoint's level there, at or above this
// one's here), summed exactly over the demand at the previous checkpoint (the segments taken as
// independent; with three or more checkpoints, a path that crosses two apart may be counted twice,
// so the result is kept at most the risk with nothing on order).
import { type DemandModel, meanBetween, meanOnDay, varianceOver } from './demand.ts'
import { DemandWalk, demandAtLeast } from './negbin.ts'

/**
 * A projected stock within this share of the units added up (the on-hand, at least 1, and the
 * receipts) of 0 is 0, and a stock plus receipts this close to a whole number is that number:
 * rounding left over from summing means (~1e-16 a step), not stock.
 */
export const STOCK_DUST = 1e-12

/** Receipt days count from D (1 = tomorrow); a receipt is on the shelf for its own day's demand. */
export interface Receipt {
  day: number
  units: number
  /**
   * An order of an order-up-to rule: placed this many days before its day, it topped the position
   * up to `units` (reorderScenarios).
   */
  since?: number
  /**
   * An order of a level rule: placed `since` days before its day, on the day the position fell to
   * this level (reorderScenarios).
   */
  trigger?: number
}

/** P(the stock reaches 0 on some day 1 … horizon) with these receipts (see the header). */
export function firstPassage(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  /** P(the demand reaches the stock on hand by day k), at index k: shared by the scenarios of one item. */
  firstCrossing: number[] = [],
): number {
  const sorted = receipts.length === 0 ? receipts : inHorizon(receipts, horizon)
  let level = onHand
  let risk = 0
  let last: Checkpoint | null = null
  let i = 0
  while (i <= sorted.length) {
    // A receipt is on the shelf for the part of its day's demand that comes after it (the receipt share).
    const whole = i < sorted.length ? (sorted[i] as Receipt).day - 1 : horizon
    const part = i < sorted.length ? model.receiptShare : 0
    const day = whole + part
    if (day > (last?.day ?? 0)) {
      const mean = meanBetween(model, 0, whole) + (part > 0 ? part * meanOnDay(model, whole + 1) : 0)
      const here: Checkpoint = { day, level, mean, variance: varianceOver(model, mean, day) }
      if (last !== null) risk += crossesOnlyLater(model, last, here)
      else {
        // Shared only while nothing has arrived yet (receipts on day 1 raise the first level), and
        // only at whole days: a checkpoint part-way into a receipt's day is this call's own.
        const shared = level === onHand && part === 0
        let crossing = shared ? firstCrossing[day] : undefined
        if (crossing === undefined) {
          crossing = demandAtLeast(level, mean, here.variance)
          if (shared) firstCrossing[day] = crossing
        }
        risk = crossing
        here.crossing = crossing
      }
      last = here
    }
    if (i === sorted.length) break
    const receiptDay = (sorted[i] as Receipt).day
    while (i < sorted.length && (sorted[i] as Receipt).day === receiptDay)
      level += (sorted[i++] as Receipt).units
    level = withoutDust(level)
  }
  return Math.min(1, risk)
}

/**
 * P(the stock reaches 0 on some day 1 … horizon) when each receipt tops it up to its `units` (a par
 * level): the stock on hand must outlast the demand until the first receipt, and the par level each
 * stretch between receipts (the stretches' demands taken as independent).
 */
export function topUpPassage(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
): number {
  let survive = 1
  let level = onHand
  let last = 0
  for (let i = 0; i <= receipts.length; i++) {
    const day = i < receipts.length ? (receipts[i] as Receipt).day - 1 : horizon
    if (day > last) {
      const mean = meanBetween(model, last, day)
      survive *= 1 - demandAtLeast(level, mean, varianceOver(model, mean, day - last))
      last = day
    }
    if (i < receipts.length) level = (receipts[i] as Receipt).units
  }
  return 1 - survive
}

/**
 * P(the stock reaches 0 on some day 1 … horizon) when the item's next orders each top its position
 * up to a level S (the receipts with `since`): until the first of them arrives, the stock and the
 * other receipts as firstPassage has them; after the order placed on day p has arrived, the stock
 * at the end of day q, before the next one arrives, is S less the demand of days p + 1 … q, whatever
 * came before (the open orders still to come were in the position it topped up). The stretches'
 * demands are taken as independent.
 */
function orderUpToPassage(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  firstCrossing: number[],
): number {
  const upTo = receipts.filter((r) => r.since !== undefined)
  const first = upTo[0] as Receipt
  let survive = survivesUntil(model, onHand, receipts, first.day, firstCrossing)
  for (let k = 0; k < upTo.length; k++) {
    const { day, units, since } = upTo[k] as Receipt
    const end = k + 1 < upTo.length ? (upTo[k + 1] as Receipt).day - 1 : horizon
    if (end >= day) survive *= outlasts(model, units, day - (since as number), end)
  }
  return 1 - survive
}

/** P(the stock and the plain receipts before `day` last through day − 1): the first passage's complement. */
function survivesUntil(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  day: number,
  firstCrossing: number[],
): number {
  if (day <= 1) return 1
  const before = receipts.filter((r) => r.since === undefined && r.day < day)
  return 1 - firstPassage(model, onHand, before, day - 1, firstCrossing)
}

/** P(the demand of days from + 1 … to stays below `stock`); with no day between, whether there is stock. */
function outlasts(model: DemandModel, stock: number, from: number, to: number): number {
  if (to <= from) return stock > 0 ? 1 : 0
  const mean = meanBetween(model, from, to)
  return 1 - demandAtLeast(stock, mean, varianceOver(model, mean, to - from))
}

/** The first passage the receipts call for: plain, after orders topping up to a level, or after orders a level triggers. */
export function passageOf(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  firstCrossing: number[],
): number {
  for (const receipt of receipts) {
    if (receipt.trigger !== undefined)
      return triggeredPassage(model, onHand, receipts, horizon, firstCrossing)
    if (receipt.since !== undefined) return orderUpToPassage(model, onHand, receipts, horizon, firstCrossing)
  }
  return firstPassage(model, onHand, receipts, horizon, firstCrossing)
}

/**
 * P(the stock reaches 0 on some day 1 … horizon) when the item's next orders are each placed on the
 * day its position falls to a level ρ (the receipts with `trigger`), whenever the demand takes it
 * there: until the first is placed, the stock and the other receipts as firstPassage has them; each
 * order, placed with ρ less the earlier orders still on their way on the shelf, must see that stock
 * outlast the demand until it arrives (the recorded level was the position at the end of the day the
 * order was placed: one of 0 or below was a shelf already empty); after the last, its position
 * (ρ plus its units, less those earlier orders) the demand from its placing to the horizon. The
 * stretches' demands are taken as independent.
 */
function triggeredPassage(
  model: DemandModel,
  onHand: number,
  receipts: Receipt[],
  horizon: number,
  firstCrossing: number[],
): number {
  const orders = receipts.filter((r) => r.trigger !== undefined)
  const first = orders[0] as Receipt
  let survive = survivesUntil(model, onHand, receipts, first.day - (first.since as number), firstCrossing)
  for (let k = 0; k < orders.length; k++) {
    const { day, units, since, trigger } = orders[k] as Receipt
    const placed = day - (since as number)
    let stock = trigger as number
    for (let j = 0; j < k; j++) if ((orders[j] as Receipt).day > placed) stock -= (orders[j] as Receipt).units
    survive *= outlasts(model, stock, placed, day - 1)
    if (k === orders.length - 1 && horizon >= day) survive *= outlasts(model, stock + units, placed, horizon)
  }
  return 1 - survive
}

/**
 * A stock plus receipts (or a number of days) within STOCK_DUST of a whole number is that number:
 * demand comes in whole units, so its ⌈·⌉ must not see the rounding of an estimate (a mean receipt
 * of 0.75 × 24 computed as 18.000000000000004 would ask the demand for one unit more).
 */
export function withoutDust(level: number): number {
  const whole = Math.round(level)
  return Math.abs(level - whole) <= STOCK_DUST * Math.max(1, Math.abs(level)) ? whole : level
}

/** The receipts that arrive within the horizon, by day (copied only when that changes something). */
export function inHorizon(receipts: Receipt[], horizon: number): Receipt[] {
  let kept = true
  for (let i = 0; i < receipts.length; i++) {
    const r = receipts[i] as Receipt
    if (r.day > horizon || !(r.units > 0) || (i > 0 && r.day < (receipts[i - 1] as Receipt).day)) kept = false
  }
  if (kept) return receipts
  return receipts.filter((r) => r.day <= horizon && r.units > 0).sort((a, b) => a.day - b.day)
}

/** The demand by the end of `day` reaching `level` (the stock plus the receipts before the next checkpoint). */
interface Checkpoint {
  day: number
  level: number
  mean: number
  variance: number
  /** P(the demand by `day` reaches `level`), where it has been worked out. */
  crossing?: number
}

/** Up to this many whole values of the earlier demand are summed one by one; beyond, on a grid. */
const EXACT_SUM_VALUES = 512

const GRID_CELLS = 128

/**
 * P(the demand stays below the earlier checkpoint's level but reaches the later one's):
 * Σ over x < L₁ of P(X₁ = x)·P(Y ≥ L₂ − x), Y the demand between them. Summed value by value from
 * x = L₁ − 1 down until the rest of X₁'s probability no longer matters; when that range is wider
 * than EXACT_SUM_VALUES (high-volume items), over GRID_CELLS cells of it instead, Y's tail taken
 * at each cell's middle, so that the work stays bounded whatever the number of units.
 */
function crossesOnlyLater(model: DemandModel, earlier: Checkpoint, later: Checkpoint): number {
  const top = Math.ceil(earlier.level) - 1
  if (top < 0) return 0
  const between = later.mean - earlier.mean
  const betweenVariance = varianceOver(model, between, later.day - earlier.day)
  // Below ten standard deviations under the mean the earlier demand has no probability to speak of.
  const bottom = Math.max(0, Math.floor(earlier.mean - 10 * Math.sqrt(earlier.variance)))
  if (top - bottom > EXACT_SUM_VALUES)
    return crossesOnGrid(earlier, later, bottom, top, between, betweenVariance)
  const stock = new DemandWalk(earlier.mean, earlier.variance, top, earlier.crossing)
  const survive = 1 - stock.tail + stock.pmf
  const need = Math.ceil(later.level - top)
  const demand = new DemandWalk(between, betweenVariance, Math.max(0, need))
  let sum = 0
  let seen = 0
  for (let step = 0; ; step++) {
    const tail = need + step <= 0 ? 1 : demand.tail
    sum += stock.pmf * tail
    seen += stock.pmf
    if (stock.x === 0 || tail < 1e-12 || seen >= survive - 1e-12) break
    stock.down()
    if (need + step >= 0) demand.up()
  }
  return sum
}

function crossesOnGrid(
  earlier: Checkpoint,
  later: Checkpoint,
  bottom: number,
  top: number,
  between: number,
  betweenVariance: number,
): number {
  const width = (top + 1 - bottom) / GRID_CELLS
  // The earlier demand's tail at each cell's lower edge, walked up from the bottom (its mass near
  // the top may be too small for a double, so the walk does not start there).
  const lowers = new Float64Array(GRID_CELLS)
  const stock = new DemandWalk(earlier.mean, earlier.variance, bottom)
  for (let cell = 0; cell < GRID_CELLS; cell++) lowers[cell] = stock.tailAt(Math.ceil(bottom + cell * width))
  // The demand between them must cover more the lower the earlier demand: walked up as the cells go down.
  const need = new DemandWalk(
    between,
    betweenVariance,
    wholeNeed(later.level, bottom + (GRID_CELLS - 0.5) * width),
  )
  let sum = 0
  let upper = earlier.crossing ?? demandAtLeast(top + 1, earlier.mean, earlier.variance)
  for (let cell = GRID_CELLS - 1; cell >= 0; cell--) {
    const lower = lowers[cell] as number
    sum += (lower - upper) * need.tailAt(wholeNeed(later.level, bottom + (cell + 0.5) * width))
    upper = lower
  }
  return sum
}

/** The whole units the demand must reach to empty `level` once `taken` have gone (at least 0: certain). */
function wholeNeed(level: number, taken: number): number {
  return Math.max(0, Math.ceil(level - taken))
}
