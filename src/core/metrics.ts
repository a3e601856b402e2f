// SPEC §4: demand metrics as of the item's day D, from the daily units sold.
import type { ItemState } from './state.ts'

export interface DemandMetrics {
  asOfDay: number
  velocity7d: number
  velocity30d: number
  /** Sample standard deviation of the daily units sold over W_30. */
  volatility: number
  /** Least-squares slope of the daily units sold over W_30, units per day per day. */
  trend: number
  seasonalityIndex: number
  daysOfHistory: number
}

/** The metrics as of the item's day D, or as of a later day (backtests carry a close forward). */
export function computeMetrics(state: ItemState, asOfDay = state.asOfDay): DemandMetrics {
  const velocity7d = windowSum(state, asOfDay, 7) / windowLength(state, asOfDay, 7)
  const { mean: velocity30d, volatility, trend } = thirtyDayStatistics(state, asOfDay)
  return {
    asOfDay,
    velocity7d,
    velocity30d,
    volatility,
    trend,
    seasonalityIndex: velocity30d === 0 ? 1 : velocity7d / velocity30d,
    daysOfHistory: asOfDay - state.firstDay + 1,
  }
}

/** First day of W_N = max(D − N + 1, first_day). */
function windowStart(state: ItemState, asOfDay: number, days: number): number {
  return Math.max(asOfDay - days + 1, state.firstDay)
}

function windowLength(state: ItemState, asOfDay: number, days: number): number {
  return asOfDay - windowStart(state, asOfDay, days) + 1
}

function windowSum(state: ItemState, asOfDay: number, days: number): number {
  const sales = state.sales
  if (sales === null) return 0
  const start = windowStart(state, asOfDay, days)
  let sum = 0
  for (let i = sales.length - 2; i >= 0 && (sales[i] as number) >= start; i -= 2)
    sum += sales[i + 1] as number
  return sum
}

/**
 * Mean, sample standard deviation and least-squares slope of the n daily values of W_30, where
 * only the days with sales are stored and every other day counts as 0. Both sums are taken about
 * the mean (two-pass), so large, steady sales do not lose precision to cancellation.
 */
function thirtyDayStatistics(
  state: ItemState,
  asOfDay: number,
): { mean: number; volatility: number; trend: number } {
  const start = windowStart(state, asOfDay, 30)
  const n = asOfDay - start + 1
  const sales = state.sales ?? []
  let first = sales.length
  while (first >= 2 && (sales[first - 2] as number) >= start) first -= 2
  let sum = 0
  for (let i = first; i < sales.length; i += 2) sum += sales[i + 1] as number
  const mean = sum / n
  if (n < 2) return { mean, volatility: 0, trend: 0 }
  const xMean = (n - 1) / 2
  let squares = 0
  // Σ(x − x̄)(y − ȳ) = Σ(x − x̄)·y because Σ(x − x̄) = 0, so only the days with sales contribute.
  let crossProducts = 0
  for (let i = first; i < sales.length; i += 2) {
    const units = sales[i + 1] as number
    const deviation = units - mean
    squares += deviation * deviation
    crossProducts += ((sales[i] as number) - start - xMean) * units
  }
  const daysWithoutSales = n - (sales.length - first) / 2
  squares += daysWithoutSales * mean * mean
  const xSquares = (n * (n * n - 1)) / 12 // Σ(x − x̄)² for x = 0 … n − 1
  return { mean, volatility: Math.sqrt(squares / (n - 1)), trend: crossProducts / xSquares }
}
