// The demand model behind the risk (SPEC §5): what an item will sell on each coming day, as a count
// distribution, from basic statistics of its own last 120 days. Pure; nothing is fitted across items.
//
//   days        the window: the last 120 days (D − 119 … D, from the first day) that were in stock
//               all day: a day that ended (or spent time) out of stock sold less than its demand,
//               so it is not counted as low demand
//               (censored demand). The first day of a run out of stock sold what was left and then
//               turned demand away: it counts with E[X | X ≥ its sales] under the model of the
//               in-stock days (the demand it had, given that it was at least that), since leaving
//               it out would keep only the days whose demand happened to fit the stock, a sample
//               biased low wherever the stock runs short often. The later days of a run began empty
//               and say nothing of the demand: left out.
//   rate λ      the recency-weighted mean of those days' sales (weights halve every HALF_LIFE_DAYS:
//               recent weeks count more, so promotions and level shifts fade instead of lingering),
//               with a weak prior (PRIOR_UNITS over PRIOR_DAYS) so that no sales yet is not "never",
//               and pulled towards the plain mean of all the window's days (the item's long run) by
//               as many days as LONG_RUN_UNITS units of that mean take (at most LONG_RUN_DAYS, and at
//               most the days less their weights: what the weights left out): a slow item's recent
//               mean rests on a handful of sales, and one that reads high is more often a lucky week
//               than a new level (regression to the mean), while a fast item's recent mean rests on
//               hundreds of units and the pull is a day or less; then lowered towards the recent
//               level when that has fallen further than its noise explains (recentFall)
//   weekday     f_w = (sales on weekday w + K·λ̄) / ((days of weekday w + K)·λ̄), λ̄ the mean without
//               the prior, scaled to average 1: the weekly pattern,
//               shrunk towards 1 by K pseudo-days so that two odd Mondays do not make a pattern: K =
//               max(WEEKDAY_PSEUDO_DAYS, WEEKDAY_PSEUDO_UNITS / λ̄), as many days as 30 units take at
//               least, since a weekday's sales are a count whose noise is that of its units, not its days
//               (an item selling 2 a day has some 34 units a weekday in the window: its pattern is read
//               at about half strength; one selling 10 a day or more, fully)
//   dispersion  φ = the variance-to-mean ratio of the daily sales (≥ 1: Poisson when steady, more
//               for lumpy, intermittent and bursty items), shrunk towards PRIOR_DISPERSION by a few
//               pseudo-days so that a short history is not taken as steady
//   horizon     demand over days D+1 … D+k has mean M = λ·Σ f and variance V = φ·M·(1 + k/n) + θ·k·M²:
//               the (1 + k/n) is the uncertainty of λ itself, estimated from n days (large for a
//               short history, so a 3-day-old item is never certain); θ·k·M² is the level moving
//               over the k days (a promotion ending, a trend, a shift: a relative uncertainty of
//               √(θ·k), 37 % a week ahead), which a count of steady days cannot show: it leaves slow
//               movers' variance nearly as it was and widens fast movers' over long lead times
//   returns   units returned come back to the books, units written off (negative adjustments:
//               damage, spoilage, theft found) leave them: the books fall by the share
//               k = 1 − (ρ − ω)/λ of the units sold (at least MIN_KEPT_SHARE; above 1 when more is
//               written off than returned), ρ the returns' and ω the write-offs' mean a day, weighted
//               by age as the sales are. The books then fall by k·M over the k days, with the
//               variance V of the demand plus the write-offs' own: each write-off a jump of its
//               units (a compound flow), Σ w·units² / Σ w a day (booksModel: λ·k, (φ·λ + that)/(λ·k)
//               and θ/k² give mean k·M and that variance; the dispersion at least 1). A one-off
//               write-off of a slow item's whole lot (a transfer out, a damaged pallet) then widens
//               the books' fall rather than making it certain. The risk and the reorder levels read
//               that, the expected demand and the cover the demand
//
// No trend is extrapolated: the trend of §4 on a few days is noise, and the recency weighting
// follows a real change within a couple of weeks. The distribution is the negative binomial with
// that mean and variance (negbin.ts): whole units, many zero days for slow movers.
import { CONTINUOUS_FROM_MEAN, demandAtLeast, demandExactly } from './negbin.ts'
import type { ItemState } from './state.ts'

/**
 * Days of sales (and days out of stock) the state keeps and the demand model reads: four times W_30
 * of the metrics, so that a slow or lumpy item's last few sales (their sizes: the dispersion) are
 * still remembered, though their weights are small by then, and the weekly pattern is read from
 * some 17 of each weekday (a 30-day memory scored worse than 60 on 39 of 41 streams of three
 * simulators; 120 better than 60 on 34 of 36 of four others: see the README).
 */
export const SALES_WINDOW_DAYS = 120

export const HALF_LIFE_DAYS = 14
/**
 * The rate's weak prior: a quarter of a unit seen over one day (λ = (Σw·y + 0.25) / (Σw + 1)). Half a
 * unit made slow movers' rates too high: over the ~20 days the weights add up to, it is 0.024 a day, more
 * than many spare parts sell (see the README's forty-second simulator).
 */
export const PRIOR_UNITS = 0.25
export const PRIOR_DAYS = 1
/**
 * The rate's pull towards the item's plain mean over the window: worth this many units of that
 * mean, as days (3 units of a 0.1-a-day item: 30 days; of a 10-a-day item: 0.3), at most
 * LONG_RUN_DAYS (also when it sold nothing) and at most the window's days less their weights.
 * Scored against none, fixed days and 5 units in the README.
 */
export const LONG_RUN_UNITS = 3
export const LONG_RUN_DAYS = 30
export const WEEKDAY_PSEUDO_DAYS = 4
/**
 * The weekday factors' pull towards 1 in units: at least as many pseudo-days as this many units of
 * the mean take (scored against 4 days alone, and 60 and 100 units, in the README).
 */
export const WEEKDAY_PSEUDO_UNITS = 30
/** Weekday factors are used once this many in-stock days are known. */
export const WEEKDAY_MIN_DAYS = 14
export const PRIOR_DISPERSION = 2
export const DISPERSION_PSEUDO_DAYS = 3
/** The books fall by at least this share of the units sold, however many come back as returns. */
export const MIN_KEPT_SHARE = 0.5
/** θ: the relative variance of the coming k days' demand level is θ·k (the level wanders; see the header). */
export const LEVEL_DRIFT_PER_DAY = 0.02
/** The recent level's weights halve every this many days (recentFall). */
export const RECENT_HALF_LIFE_DAYS = 3
/**
 * The recent level is read only when its in-stock days weigh this much (half the as-of day's own weight):
 * an item out of stock for most of the last weeks has no recent level to speak of, and the weights
 * left after taking its out days off would be rounding errors.
 */
const MIN_RECENT_WEIGHT = 0.5

export interface DemandModel {
  /** λ: units a day, the recency-weighted mean of the in-stock days (lowered to a recent fall: recentFall). */
  rate: number
  /** φ ≥ 1, the variance-to-mean ratio of a day's demand. */
  dispersion: number
  /** n: the effective number of in-stock days behind λ. */
  days: number
  /** Weekday factors by (day number mod 7), averaging 1. */
  weekday: Float64Array
  /** The as-of day the horizon counts from. */
  asOfDay: number
  /** Days of the window that ran out after selling (the first of a run out of stock); see the header. */
  censoredDays: number
  /** θ, LEVEL_DRIFT_PER_DAY (0 makes the days' demands independent counts, as tests of the sums need). */
  levelDrift: number
  /** k: the books' fall per unit sold: the units that stay sold, plus those written off (1: neither returns nor write-offs). */
  kept: number
  /** The write-offs' variance a day (Σ of their squared units, weighted by age, over the window's weights; 0: none). */
  writeOffVariance: number
  /** s: the share of a receipt day's demand that comes before the delivery (receipts.ts receiptShare; 0 here). */
  receiptShare: number
}

const FLAT_WEEK = new Float64Array(7).fill(1)
const DAY_SALES = new Float64Array(7)
const NONE: readonly number[] = []
const DAY_COUNT = new Float64Array(7)
const WEIGHT_BY_AGE = Float64Array.from({ length: SALES_WINDOW_DAYS }, (_, age) => ageWeight(age))
const RECENT_BY_AGE = Float64Array.from(
  { length: SALES_WINDOW_DAYS },
  (_, age) => 0.5 ** (age / RECENT_HALF_LIFE_DAYS),
)

/** The weight of a day `age` days before the as-of day: halves every HALF_LIFE_DAYS. */
export function ageWeight(age: number): number {
  return 0.5 ** (age / HALF_LIFE_DAYS)
}
/** Σ w and Σ w² over the ages 0 … n − 1 (a window of n days), summed youngest first. */
const WEIGHT_SUMS = prefixSums((w) => w)
const WEIGHT_SQUARE_SUMS = prefixSums((w) => w * w)
const RECENT_SUMS = prefixSums((w) => w, RECENT_BY_AGE)
const RECENT_SQUARE_SUMS = prefixSums((w) => w * w, RECENT_BY_AGE)
/** The recent weights of a whole window by age mod 7, as shares: how the recent level mixes the weekdays. */
const RECENT_BY_WEEKDAY = Float64Array.from({ length: 7 }, (_, offset) => {
  let sum = 0
  for (let age = offset; age < SALES_WINDOW_DAYS; age += 7) sum += RECENT_BY_AGE[age] as number
  return sum / (RECENT_SUMS[SALES_WINDOW_DAYS] as number)
})

function prefixSums(term: (weight: number) => number, byAge = WEIGHT_BY_AGE): Float64Array {
  const sums = new Float64Array(SALES_WINDOW_DAYS + 1)
  for (let age = 0; age < SALES_WINDOW_DAYS; age++)
    sums[age + 1] = (sums[age] as number) + term(byAge[age] as number)
  return sums
}

/**
 * The item's demand model as of `asOfDay` (its day D, or a later day when a close is carried
 * forward). When every day of the window was out of stock, their sales are all there is: taken as
 * they are (a floor of the demand) rather than knowing nothing.
 */
export function demandModel(state: ItemState, asOfDay = state.asOfDay): DemandModel {
  const model = modelOfDays(state, asOfDay, state.firstDay) as DemandModel
  const returns = state.returns
  if (returns === null) return model
  // ρ − ω: the returns' less the write-offs' weighted units over the window's weights (every day of it, in stock or not).
  const length = Math.min(SALES_WINDOW_DAYS, asOfDay - state.firstDay + 1)
  const perDay =
    ((returns[0] as number) * ageWeight(asOfDay - (returns[1] as number))) / (WEIGHT_SUMS[length] as number)
  model.kept = Math.max(MIN_KEPT_SHARE, 1 - perDay / model.rate)
  model.writeOffVariance =
    ((returns[2] ?? 0) * ageWeight(asOfDay - (returns[1] as number))) / (WEIGHT_SUMS[length] as number)
  return model
}

/**
 * What the books do: the demand model with the returns taken off and the write-offs added (mean k·M
 * over the coming days, variance that of the demand plus the write-offs'; see the header). The model
 * itself when neither.
 */
export function booksModel(model: DemandModel): DemandModel {
  const kept = model.kept
  if (kept === 1 && model.writeOffVariance === 0) return model
  return {
    ...model,
    rate: model.rate * kept,
    dispersion: Math.max(1, (model.dispersion * model.rate + model.writeOffVariance) / (model.rate * kept)),
    writeOffVariance: 0,
    levelDrift: model.levelDrift / (kept * kept),
    kept: 1,
  }
}

/**
 * The model as of `asOfDay` from its window's days on or after `from` only (an earlier day, whose
 * sales the state may no longer hold); null when no day is left.
 */
export function modelOfDays(state: ItemState, asOfDay: number, from: number): DemandModel | null {
  const inStock = modelOfWindow(state, asOfDay, from, true, null)
  if (inStock === null) return modelOfWindow(state, asOfDay, from, false, null)
  return inStock.censoredDays === 0 ? inStock : modelOfWindow(state, asOfDay, from, true, inStock)
}

/**
 * E[X | X ≥ sold] for a day's demand X of mean m and variance v: what a day that ran out after
 * selling `sold` wanted. Summed upwards from ⌈sold⌉ (each probability the one before times a
 * ratio) until the terms no longer count: a tail's relative precision survives however small it
 * is, as 1 − the sum below would not. Past CONTINUOUS_FROM_MEAN, where the demand is taken as
 * continuous, and past CENSORED_TERMS terms, the negative binomial's identity
 * x·P(X = x) = m·P(X' = x − 1) (X' of size r + 1) gives E[X; X ≥ s] = m·P(X' ≥ s − 1).
 */
export function censoredDemand(sold: number, m: number, v: number): number {
  const r = (m * m) / (v - m)
  const from = Math.ceil(sold)
  if (m > CONTINUOUS_FROM_MEAN) return sizeBiasedDemand(sold, from, m, v, r)
  const q = m / (r + m)
  let pmf = demandExactly(from, m, v)
  if (!(pmf > 0)) return sold
  let mass = 0
  let units = 0
  for (let x = from; ; x++) {
    mass += pmf
    units += x * pmf
    // A probability that has underflowed to 0 adds nothing more, and would never end the loop when
    // the terms summed so far are too small for 1e-17 of them to be above 0 (a sale far out in the tail).
    if ((x > m && x * pmf < 1e-17 * units) || pmf === 0) break
    if (x - from === CENSORED_TERMS) return sizeBiasedDemand(sold, from, m, v, r)
    pmf *= ((x + r) / (x + 1)) * q
  }
  return Math.max(sold, units / mass)
}

/**
 * Terms censoredDemand sums before it takes the identity instead: a size r so small (a variance
 * thousands of times the mean) that the terms hardly fall, and the tail is heavy enough for the
 * identity's two tails to keep their digits.
 */
const CENSORED_TERMS = 10_000

/** E[X | X ≥ sold] by the negative binomial's identity E[X; X ≥ s] = m·P(X' ≥ s − 1), X' of size r + 1. */
function sizeBiasedDemand(sold: number, from: number, m: number, v: number, r: number): number {
  const reached = demandAtLeast(from, m, v)
  const biased = (m * (r + 1)) / r
  return reached > 0
    ? Math.max(sold, (m * demandAtLeast(from - 1, biased, (biased * v) / m)) / reached)
    : sold
}

/**
 * The model from the window's days, skipping the out-of-stock ones when told (with `censoredBy`,
 * the model of the in-stock days, counting the first day of each run out of stock at its expected
 * demand instead); null when no day is left. Only the days with sales and the days out of stock are
 * visited: the weights and weekday counts of a whole window are known in advance (WEIGHT_SUMS), and
 * a day without sales adds nothing else.
 */
function modelOfWindow(
  state: ItemState,
  asOfDay: number,
  from: number,
  skipOut: boolean,
  censoredBy: DemandModel | null,
): DemandModel | null {
  const start = Math.max(asOfDay - SALES_WINDOW_DAYS + 1, from)
  const length = asOfDay - start + 1
  if (!(length >= 1)) return null
  const out = state.outDays ?? NONE
  let weights = WEIGHT_SUMS[length] as number
  let weightsSquared = WEIGHT_SQUARE_SUMS[length] as number
  let weighted = 0
  let weightedSquares = 0
  let recentWeights = RECENT_SUMS[length] as number
  let recentWeightsSquared = RECENT_SQUARE_SUMS[length] as number
  let recent = 0
  let recentSquares = 0
  // Scratch space, reused: the model runs after every event and needs these only while it is built.
  const daySales = DAY_SALES
  const dayCount = DAY_COUNT
  const newest = weekdayOf(asOfDay)
  // The window's days of weekday w: one a week, and one more for each of its last `extra` days
  // (as int32s, like weekdayOf).
  const weeks = ((length | 0) / 7) | 0
  const extra = (length | 0) % 7
  for (let w = 0; w < 7; w++) {
    daySales[w] = 0
    dayCount[w] = weeks + ((newest - w + 7) % 7 < extra ? 1 : 0)
  }
  let counted = length
  // outDays is ascending and without repeats (state.ts markOut): each day's weight goes once.
  if (skipOut)
    for (let o = out.length - 1; o >= 0; o--) {
      const day = out[o] as number
      if (day < start) break
      if (day > asOfDay) continue
      const w = WEIGHT_BY_AGE[asOfDay - day] as number
      weights -= w
      weightsSquared -= w * w
      const r = RECENT_BY_AGE[asOfDay - day] as number
      recentWeights -= r
      recentWeightsSquared -= r * r
      const weekday = weekdayOf(day)
      dayCount[weekday] = (dayCount[weekday] as number) - 1
      counted--
    }
  if (counted === 0) return null
  const sales = state.sales ?? NONE
  let censoredDays = 0
  let plain = 0
  for (let s = sales.length - 2, o = out.length - 1; s >= 0; s -= 2) {
    const day = sales[s] as number
    if (day < start) break
    if (day > asOfDay) continue
    let units = sales[s + 1] as number
    const w = WEIGHT_BY_AGE[asOfDay - day] as number
    if (skipOut) {
      while (o >= 0 && (out[o] as number) > day) o--
      if (o >= 0 && out[o] === day) {
        const firstOfRun = !(o > 0 && out[o - 1] === day - 1 && day - 1 >= start)
        if (!(units > 0 && firstOfRun)) continue
        censoredDays++
        if (censoredBy === null) continue
        const m = censoredBy.rate * (censoredBy.weekday[weekdayOf(day)] as number)
        units = censoredDemand(units, m, censoredBy.dispersion * m)
        weights += w
        weightsSquared += w * w
        const r = RECENT_BY_AGE[asOfDay - day] as number
        recentWeights += r
        recentWeightsSquared += r * r
        counted++
        const weekday = weekdayOf(day)
        dayCount[weekday] = (dayCount[weekday] as number) + 1
      }
    }
    weighted += w * units
    plain += units
    weightedSquares += w * units * units
    const r = RECENT_BY_AGE[asOfDay - day] as number
    recent += r * units
    recentSquares += r * units * units
    const weekday = weekdayOf(day)
    daySales[weekday] = (daySales[weekday] as number) + units
  }
  const observedRate = weighted / weights
  const longRun = plain / counted
  // The plain mean tells what the weights left out, at most the days they weigh less than 1 (none
  // on a new item's first day).
  const pull = Math.min(LONG_RUN_DAYS, LONG_RUN_UNITS / longRun, counted - weights)
  const days = (weights * weights) / weightsSquared
  const dispersion = shrunkDispersion(weightedSquares / weights, observedRate, days)
  const weekday = weekdayFactors(daySales, dayCount, observedRate)
  const steady = (weighted + PRIOR_UNITS + pull * longRun) / (weights + PRIOR_DAYS + pull)
  const recentDays = (recentWeights * recentWeights) / recentWeightsSquared
  const fall =
    recentWeights >= MIN_RECENT_WEIGHT
      ? recentFall(
          steady * recentWeekdayMix(weekday, asOfDay),
          recent / recentWeights,
          recentSquares / recentWeights,
          recentDays,
        )
      : 0
  return {
    rate: steady * (1 - fall),
    dispersion,
    days,
    weekday,
    asOfDay,
    censoredDays,
    levelDrift: LEVEL_DRIFT_PER_DAY,
    kept: 1,
    writeOffVariance: 0,
    receiptShare: 0,
  }
}

/**
 * φ from a window's weighted mean of squares and mean: the variance-to-mean ratio of its days
 * (at least 1), shrunk towards PRIOR_DISPERSION by a few pseudo-days.
 */
function shrunkDispersion(meanSquare: number, mean: number, days: number): number {
  const variance = Math.max(0, meanSquare - mean * mean) * (days / Math.max(days - 1, 1))
  const observed = mean > 0 ? Math.max(1, variance / mean) : 1
  return (
    (DISPERSION_PSEUDO_DAYS * PRIOR_DISPERSION + (days - 1) * observed) / (DISPERSION_PSEUDO_DAYS + days - 1)
  )
}

/**
 * The share by which the rate falls to meet the recent level (weights halving every
 * RECENT_HALF_LIFE_DAYS): the part of the gap between what the steady rate expects of the recent
 * days (`expected`) and what they sold that is beyond the recent mean's noise (an empirical-Bayes
 * estimate of a fall: gap · (1 − σ²/gap²), none when the gap is within its noise), σ² = φ·expected/n
 * with φ the recent days' own dispersion (a peak further back would make the steady one wide). Only
 * downwards: after a season or a promotion the 14-day weights keep the peak's rate for weeks, while
 * a recent rise is as often a few large sales, and the weights follow a lasting one.
 */
function recentFall(expected: number, mean: number, meanSquare: number, days: number): number {
  const gap = expected - mean
  if (!(gap > 0)) return 0
  const noise = (shrunkDispersion(meanSquare, mean, days) * expected) / days
  return (gap / expected) * Math.max(0, 1 - noise / (gap * gap))
}

/** Σ over the recent weights' weekday shares of the weekday factors: the recent days' expected mean over the rate. */
function recentWeekdayMix(weekday: Float64Array, asOfDay: number): number {
  if (weekday === FLAT_WEEK) return 1
  const newest = weekdayOf(asOfDay)
  let mix = 0
  for (let offset = 0; offset < 7; offset++)
    mix += (RECENT_BY_WEEKDAY[offset] as number) * (weekday[(newest - offset + 7) % 7] as number)
  return mix
}

function weekdayFactors(daySales: Float64Array, dayCount: Float64Array, rate: number): Float64Array {
  let counted = 0
  for (let w = 0; w < 7; w++) counted += dayCount[w] as number
  if (rate === 0 || counted < WEEKDAY_MIN_DAYS) return FLAT_WEEK
  const factors = new Float64Array(7)
  let sum = 0
  const pseudoDays = Math.max(WEEKDAY_PSEUDO_DAYS, WEEKDAY_PSEUDO_UNITS / rate)
  for (let w = 0; w < 7; w++) {
    const f = ((daySales[w] as number) + pseudoDays * rate) / (((dayCount[w] as number) + pseudoDays) * rate)
    factors[w] = f
    sum += f
  }
  for (let w = 0; w < 7; w++) factors[w] = ((factors[w] as number) * 7) / sum
  return factors
}

/**
 * The index of a day in the weekday factors (day mod 7). Day numbers come from a floored division
 * and are held as doubles: the modulo of a double is a slow library call, of an int32 a few instructions.
 */
function weekdayOf(day: number): number {
  return (day | 0) % 7
}

/** Mean demand on day D + k (k ≥ 1). */
export function meanOnDay(model: DemandModel, k: number): number {
  return model.rate * (model.weekday[weekdayOf(model.asOfDay + k)] as number)
}

/** Mean demand over days D + from + 1 … D + to. */
export function meanBetween(model: DemandModel, from: number, to: number): number {
  if (to <= from) return 0
  return meanThrough(model, to) - meanThrough(model, from)
}

/** Mean demand over days D + 1 … D + k: whole weeks at once (the factors repeat), then the days left. */
function meanThrough(model: DemandModel, k: number): number {
  if (k <= 0) return 0
  let week = 0
  for (let w = 0; w < 7; w++) week += model.weekday[w] as number
  const days = k | 0 // whole days, as an int32 (see weekdayOf)
  let sum = ((days / 7) | 0) * week
  const first = weekdayOf(model.asOfDay + 1)
  for (let j = 0; j < days % 7; j++) sum += model.weekday[first + j < 7 ? first + j : first + j - 7] as number
  return model.rate * sum
}

/** Variance of the demand over `days` coming days whose mean is `mean` (see the header). */
export function varianceOver(model: DemandModel, mean: number, days: number): number {
  return (
    model.dispersion * mean * (1 + days / Math.max(model.days, 1)) + model.levelDrift * days * mean * mean
  )
}
