// Forecast verification for the backtest: pure functions of predicted probabilities p and binary
// outcomes y (no I/O), so each can be checked against hand-computed values.
//
//   Brier score        BS = mean((p − y)²)
//   reference          BS_ref = ȳ(1 − ȳ): always predicting the base rate ȳ of this sample
//   skill score        BSS = 1 − BS / BS_ref (null when BS_ref = 0: every outcome the same)
//   ROC AUC            Mann-Whitney: (R₁ − n₁(n₁ + 1)/2) / (n₁·n₀), R₁ the sum of the positives'
//                      ranks among all p, tied p sharing their mid-rank (a tie counts ½)
//   average precision  AP = Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the distinct values of p, from the highest
//                      down: Rₖ, Pₖ the recall and precision when alerting at p ≥ that value
//                      (a tie group enters at once; no interpolation)
//   contingency        alert when p ≥ threshold; POD = hits/(hits + misses) = recall,
//                      FAR (false-alarm ratio) = false alarms/(hits + false alarms) = 1 − precision,
//                      POFD = false alarms/(false alarms + correct negatives), F1 = 2·hits/(2·hits + misses + false alarms)
//   calibration error  ECE = Σ_b (n_b/n)·|mean p_b − observed rate_b| over the 10 equal bins of p
//                      ([k/10, (k+1)/10), the last one closed at 1)
import { RISK_LEVELS, type RiskLevel, riskLevel } from '../core/risk.ts'

type Probabilities = ArrayLike<number>
type Outcomes = ArrayLike<number>

export function brierScore(p: Probabilities, y: Outcomes): number | null {
  if (p.length === 0) return null
  let sum = 0
  for (let i = 0; i < p.length; i++) {
    const error = (p[i] as number) - (y[i] as number)
    sum += error * error
  }
  return sum / p.length
}

export function baseRate(y: Outcomes): number | null {
  if (y.length === 0) return null
  let positives = 0
  for (let i = 0; i < y.length; i++) positives += y[i] as number
  return positives / y.length
}

/** 1 − BS / (ȳ(1 − ȳ)); null when there is nothing to beat (no predictions, or all y equal). */
export function brierSkillScore(brier: number | null, rate: number | null): number | null {
  if (brier === null || rate === null) return null
  const reference = rate * (1 - rate)
  return reference === 0 ? null : 1 - brier / reference
}

/** The p of the positives and of the negatives, each sorted ascending. */
function splitSorted(p: Probabilities, y: Outcomes): { pos: Float64Array; neg: Float64Array } {
  let n1 = 0
  for (let i = 0; i < y.length; i++) n1 += y[i] === 1 ? 1 : 0
  const pos = new Float64Array(n1)
  const neg = new Float64Array(p.length - n1)
  let a = 0
  let b = 0
  for (let i = 0; i < p.length; i++) {
    if (y[i] === 1) pos[a++] = p[i] as number
    else neg[b++] = p[i] as number
  }
  pos.sort()
  neg.sort()
  return { pos, neg }
}

/** ROC AUC by the Mann-Whitney rank sum with mid-ranks for ties; null without both classes. */
export function rocAuc(p: Probabilities, y: Outcomes): number | null {
  const { pos, neg } = splitSorted(p, y)
  const n1 = pos.length
  const n0 = neg.length
  if (n1 === 0 || n0 === 0) return null
  // Walk all values ascending, one tie group at a time; ranks are 1-based.
  let rankSum = 0
  let ranked = 0
  let i = 0
  let j = 0
  while (i < n1 || j < n0) {
    const value = Math.min(i < n1 ? (pos[i] as number) : Infinity, j < n0 ? (neg[j] as number) : Infinity)
    let tiedPos = 0
    let tiedNeg = 0
    while (i < n1 && pos[i] === value) {
      tiedPos++
      i++
    }
    while (j < n0 && neg[j] === value) {
      tiedNeg++
      j++
    }
    const group = tiedPos + tiedNeg
    rankSum += tiedPos * (ranked + (group + 1) / 2)
    ranked += group
  }
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * n0)
}

/** Alerting at p ≥ `threshold`, the cumulative positives and negatives caught, highest p first. */
export interface ThresholdStep {
  threshold: number
  truePositives: number
  falsePositives: number
}

/** One step per distinct value of p, from the highest down. */
export function thresholdSteps(p: Probabilities, y: Outcomes): ThresholdStep[] {
  const { pos, neg } = splitSorted(p, y)
  const steps: ThresholdStep[] = []
  let i = pos.length - 1
  let j = neg.length - 1
  let truePositives = 0
  let falsePositives = 0
  while (i >= 0 || j >= 0) {
    const threshold = Math.max(
      i >= 0 ? (pos[i] as number) : -Infinity,
      j >= 0 ? (neg[j] as number) : -Infinity,
    )
    while (i >= 0 && pos[i] === threshold) {
      truePositives++
      i--
    }
    while (j >= 0 && neg[j] === threshold) {
      falsePositives++
      j--
    }
    steps.push({ threshold, truePositives, falsePositives })
  }
  return steps
}

export interface RocPoint {
  threshold: number
  falsePositiveRate: number
  truePositiveRate: number
}

/** The ROC curve from (0, 0) to (1, 1), one point per distinct p; empty without both classes. */
export function rocCurve(steps: readonly ThresholdStep[]): RocPoint[] {
  const last = steps[steps.length - 1]
  if (last === undefined || last.truePositives === 0 || last.falsePositives === 0) return []
  const n1 = last.truePositives
  const n0 = last.falsePositives
  return [
    { threshold: Infinity, falsePositiveRate: 0, truePositiveRate: 0 },
    ...steps.map((s) => ({
      threshold: s.threshold,
      falsePositiveRate: s.falsePositives / n0,
      truePositiveRate: s.truePositives / n1,
    })),
  ]
}

/** Area under a curve of points by the trapezoid rule (for the ROC curve: equals the Mann-Whitney AUC). */
export function trapezoidArea(points: readonly { x: number; y: number }[]): number {
  let area = 0
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1] as { x: number; y: number }
    const b = points[k] as { x: number; y: number }
    area += ((b.x - a.x) * (a.y + b.y)) / 2
  }
  return area
}

export interface PrPoint {
  threshold: number
  recall: number
  precision: number
}

/** The precision-recall curve, one point per distinct p from the highest down; empty without positives. */
export function precisionRecallCurve(steps: readonly ThresholdStep[]): PrPoint[] {
  const last = steps[steps.length - 1]
  if (last === undefined || last.truePositives === 0) return []
  const n1 = last.truePositives
  return steps.map((s) => ({
    threshold: s.threshold,
    recall: s.truePositives / n1,
    precision: s.truePositives / (s.truePositives + s.falsePositives),
  }))
}

/** AP = Σ (Rₖ − Rₖ₋₁)·Pₖ; null without positives. */
export function averagePrecision(curve: readonly PrPoint[]): number | null {
  if (curve.length === 0) return null
  let ap = 0
  let previousRecall = 0
  for (const point of curve) {
    ap += (point.recall - previousRecall) * point.precision
    previousRecall = point.recall
  }
  return ap
}

export interface Contingency {
  threshold: number
  hits: number
  misses: number
  falseAlarms: number
  correctNegatives: number
  /** Probability of detection, hits / (hits + misses): the recall. */
  pod: number | null
  /** False-alarm ratio, false alarms / (hits + false alarms): 1 − precision. */
  far: number | null
  /** Probability of false detection, false alarms / (false alarms + correct negatives): the ROC x. */
  pofd: number | null
  precision: number | null
  recall: number | null
  f1: number | null
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b)

/** The 2×2 table of alerts (p ≥ threshold) against stockouts. */
export function contingency(p: Probabilities, y: Outcomes, threshold: number): Contingency {
  let hits = 0
  let misses = 0
  let falseAlarms = 0
  let correctNegatives = 0
  for (let i = 0; i < p.length; i++) {
    const alert = (p[i] as number) >= threshold
    if (y[i] === 1) {
      if (alert) hits++
      else misses++
    } else if (alert) falseAlarms++
    else correctNegatives++
  }
  return {
    threshold,
    hits,
    misses,
    falseAlarms,
    correctNegatives,
    pod: ratio(hits, hits + misses),
    far: ratio(falseAlarms, hits + falseAlarms),
    pofd: ratio(falseAlarms, falseAlarms + correctNegatives),
    precision: ratio(hits, hits + falseAlarms),
    recall: ratio(hits, hits + misses),
    f1: ratio(2 * hits, 2 * hits + misses + falseAlarms),
  }
}

export interface CalibrationBin {
  /** The bin holds lower ≤ p < upper; the last bin also holds p = 1. */
  lower: number
  upper: number
  count: number
  meanPredicted: number | null
  observedRate: number | null
}

/** The bin of p among `bins` equal bins of [0, 1], bounds compared as the doubles k / bins. */
export function calibrationBin(p: number, bins = 10): number {
  let k = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)))
  while (k > 0 && p < k / bins) k--
  while (k < bins - 1 && p >= (k + 1) / bins) k++
  return k
}

/** The reliability table: per bin of p, how many, their mean p and the share that stocked out. */
export function calibration(p: Probabilities, y: Outcomes, bins = 10): CalibrationBin[] {
  const count = new Array<number>(bins).fill(0)
  const sumP = new Array<number>(bins).fill(0)
  const sumY = new Array<number>(bins).fill(0)
  for (let i = 0; i < p.length; i++) {
    const k = calibrationBin(p[i] as number, bins)
    count[k] = (count[k] as number) + 1
    sumP[k] = (sumP[k] as number) + (p[i] as number)
    sumY[k] = (sumY[k] as number) + (y[i] as number)
  }
  return count.map((n, k) => ({
    lower: k / bins,
    upper: (k + 1) / bins,
    count: n,
    meanPredicted: ratio(sumP[k] as number, n),
    observedRate: ratio(sumY[k] as number, n),
  }))
}

/** ECE = Σ_b (n_b / n)·|mean p_b − observed rate_b|; null when no bin holds a prediction. */
export function calibrationError(bins: readonly CalibrationBin[]): number | null {
  let n = 0
  let weighted = 0
  for (const bin of bins) {
    if (bin.count === 0) continue
    n += bin.count
    weighted += bin.count * binGap(bin)
  }
  return n === 0 ? null : weighted / n
}

/** A bin is judged only with at least this many predictions: fewer, and its observed rate is mostly noise. */
export const MIN_JUDGED_COUNT = 30
/** Gaps smaller than this (5 points of probability) do not matter to a planner, however certain. */
export const MIN_CALIBRATION_GAP = 0.05

/**
 * Whether a bin's observed rate is off its mean p by more than max(0.05, 2 standard errors), the
 * standard error being that of the observed rate were the predictions calibrated: √(p̄(1 − p̄)/n).
 * 0: calibrated, or not judged (fewer than MIN_JUDGED_COUNT); −1: the risk was overstated
 * (observed below p̄); +1: understated.
 */
export function calibrationGap(bin: CalibrationBin, minCount = MIN_JUDGED_COUNT): -1 | 0 | 1 {
  if (bin.count < minCount || bin.meanPredicted === null || bin.observedRate === null) return 0
  const p = bin.meanPredicted
  const gap = bin.observedRate - p
  const tolerance = Math.max(MIN_CALIBRATION_GAP, 2 * Math.sqrt((p * (1 - p)) / bin.count))
  if (Math.abs(gap) <= tolerance) return 0
  return gap < 0 ? -1 : 1
}

/** A run of adjacent bins off calibration the same way. */
export interface CalibrationRegion {
  /** Indexes of its first and last bins. */
  first: number
  last: number
  /** −1: risk overstated (observed below predicted); +1: understated. */
  direction: -1 | 1
  count: number
  /** Σ n_b·|mean p_b − observed_b| over its bins: its part of n·ECE. */
  weightedGap: number
  /** Its bin with the largest |mean p − observed|. */
  worst: number
}

/**
 * The runs of adjacent bins that calibrationGap flags the same way, and the one that weighs most in
 * the ECE (ties: the lower one), or null when no bin is flagged. A bin not flagged (or too sparse
 * to judge) ends a run.
 */
export function largestMiscalibration(
  bins: readonly CalibrationBin[],
  minCount = MIN_JUDGED_COUNT,
): CalibrationRegion | null {
  const runs: CalibrationRegion[] = []
  let run: CalibrationRegion | undefined
  for (let k = 0; k < bins.length; k++) {
    const bin = bins[k] as CalibrationBin
    const direction = calibrationGap(bin, minCount)
    if (direction === 0) {
      run = undefined
      continue
    }
    if (run === undefined || run.direction !== direction) {
      run = { first: k, last: k, direction, count: 0, weightedGap: 0, worst: k }
      runs.push(run)
    }
    const gap = binGap(bin)
    if (gap > binGap(bins[run.worst] as CalibrationBin)) run.worst = k
    run.last = k
    run.count += bin.count
    run.weightedGap += bin.count * gap
  }
  let largest: CalibrationRegion | null = null
  for (const r of runs) if (largest === null || r.weightedGap > largest.weightedGap) largest = r
  return largest
}

/** |mean p − observed rate| of a bin that holds predictions. */
function binGap(bin: CalibrationBin): number {
  return Math.abs((bin.meanPredicted as number) - (bin.observedRate as number))
}

export type ScoredLevel = Exclude<RiskLevel, 'unknown'>
export const SCORED_LEVELS = RISK_LEVELS.filter((l) => l !== 'unknown') as ScoredLevel[]

export interface LevelRow {
  level: ScoredLevel
  count: number
  stockouts: number
  observedRate: number | null
}

/** Counts and observed stockout rate per risk level of SPEC §5 (a known on-hand is never `unknown`). */
export function riskLevelTable(p: Probabilities, y: Outcomes): LevelRow[] {
  const rows = new Map<ScoredLevel, { count: number; stockouts: number }>(
    SCORED_LEVELS.map((level) => [level, { count: 0, stockouts: 0 }]),
  )
  for (let i = 0; i < p.length; i++) {
    const row = rows.get(riskLevel(p[i] as number) as ScoredLevel) as { count: number; stockouts: number }
    row.count++
    row.stockouts += y[i] as number
  }
  return SCORED_LEVELS.map((level) => {
    const { count, stockouts } = rows.get(level) as { count: number; stockouts: number }
    return { level, count, stockouts, observedRate: ratio(stockouts, count) }
  })
}

/** The middle value (the mean of the two middle ones for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** What the warning figures are computed from: per prediction, its item, day and the stockout it was about. */
export interface WarningInput {
  item: ArrayLike<number>
  day: ArrayLike<number>
  /** The first stockout day within the horizon when y = 1, else −1. */
  stockoutDay: ArrayLike<number>
}

export interface WarningSummary {
  /** Distinct stockouts (item, first stockout day) that at least one scored prediction was about. */
  stockouts: number
  /** Those with at least one alert (p ≥ threshold) among the predictions about them. */
  caught: number
  /** Per caught stockout: its day minus the day of the earliest alert about it. */
  medianDays: number | null
  /** How many caught stockouts had 1, 2, … days of warning. */
  daysHistogram: Record<string, number>
}

/**
 * Days of warning. A prediction at t with y = 1 is about the item's first stockout day s after t.
 * A stockout (item, s) is caught when some prediction about it alerted; its warning is s − t for
 * the earliest such t (the first day an alert could have gone out for it).
 */
export function warningSummary(input: WarningInput, p: Probabilities, threshold: number): WarningSummary {
  const earliestAlert = new Map<string, number>()
  const stockouts = new Set<string>()
  for (let i = 0; i < p.length; i++) {
    const s = input.stockoutDay[i] as number
    if (s < 0) continue
    const key = `${input.item[i]}:${s}`
    stockouts.add(key)
    if ((p[i] as number) < threshold) continue
    const t = input.day[i] as number
    const known = earliestAlert.get(key)
    if (known === undefined || s - t > known) earliestAlert.set(key, s - t)
  }
  const days = [...earliestAlert.values()]
  const daysHistogram: Record<string, number> = {}
  for (const d of [...days].sort((a, b) => a - b))
    daysHistogram[String(d)] = (daysHistogram[String(d)] ?? 0) + 1
  return { stockouts: stockouts.size, caught: days.length, medianDays: median(days), daysHistogram }
}

/** A stockout that predictions were about, none of them alerting. */
export interface MissedStockout {
  item: number
  /** The stockout day s. */
  day: number
  /** How many scored predictions were about it (their horizon reached s, no stockout in between). */
  predictions: number
  /** The highest risk among them, and the first day it was predicted. */
  highestRisk: number
  highestRiskDay: number
  /** The latest of those predictions: its day and the on-hand at that close. */
  lastDay: number
  onHand: number
}

/**
 * The stockouts no alert foresaw: per (item, s) of warningSummary's stockouts, those whose every
 * prediction stayed below `threshold`. So their number is warning.stockouts − warning.caught.
 * In the order of the first prediction about each.
 */
export function missedStockouts(
  input: WarningInput & { onHand: ArrayLike<number> },
  p: Probabilities,
  threshold: number,
): MissedStockout[] {
  const byStockout = new Map<string, MissedStockout & { alerted: boolean }>()
  for (let i = 0; i < p.length; i++) {
    const s = input.stockoutDay[i] as number
    if (s < 0) continue
    const item = input.item[i] as number
    const t = input.day[i] as number
    const risk = p[i] as number
    const key = `${item}:${s}`
    const known = byStockout.get(key)
    if (known === undefined) {
      byStockout.set(key, {
        item,
        day: s,
        predictions: 1,
        highestRisk: risk,
        highestRiskDay: t,
        lastDay: t,
        onHand: input.onHand[i] as number,
        alerted: risk >= threshold,
      })
      continue
    }
    known.predictions++
    known.alerted ||= risk >= threshold
    if (risk > known.highestRisk || (risk === known.highestRisk && t < known.highestRiskDay)) {
      known.highestRisk = risk
      known.highestRiskDay = t
    }
    if (t > known.lastDay) {
      known.lastDay = t
      known.onHand = input.onHand[i] as number
    }
  }
  return [...byStockout.values()].filter((m) => !m.alerted).map(({ alerted: _, ...missed }) => missed)
}

export interface ForecastScores {
  n: number
  stockouts: number
  baseRate: number | null
  brier: number | null
  brierReference: number | null
  brierSkillScore: number | null
  rocAuc: number | null
  averagePrecision: number | null
  /** Expected calibration error over the 10 bins of `calibration`. */
  ece: number | null
  contingency: Contingency
  calibration: CalibrationBin[]
  riskLevels: LevelRow[]
  warning: WarningSummary
  roc: RocPoint[]
  precisionRecall: PrPoint[]
}

/** Every figure of the report for one forecaster (the model, or the baseline). */
export function scoreForecasts(
  p: Probabilities,
  y: Outcomes,
  alertThreshold: number,
  warning: WarningInput,
): ForecastScores {
  const rate = baseRate(y)
  const brier = brierScore(p, y)
  const steps = thresholdSteps(p, y)
  const precisionRecall = precisionRecallCurve(steps)
  const bins = calibration(p, y)
  let stockouts = 0
  for (let i = 0; i < y.length; i++) stockouts += y[i] as number
  return {
    n: p.length,
    stockouts,
    baseRate: rate,
    brier,
    brierReference: rate === null ? null : rate * (1 - rate),
    brierSkillScore: brierSkillScore(brier, rate),
    rocAuc: rocAuc(p, y),
    averagePrecision: averagePrecision(precisionRecall),
    ece: calibrationError(bins),
    contingency: contingency(p, y, alertThreshold),
    calibration: bins,
    riskLevels: riskLevelTable(p, y),
    warning: warningSummary(warning, p, alertThreshold),
    roc: rocCurve(steps),
    precisionRecall,
  }
}
