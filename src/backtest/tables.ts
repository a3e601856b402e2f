// The rows of the backtest's tables, the model beside the naive baseline, as text cells: computed once
// here for both the terminal report (report.ts) and the HTML page (html.ts), which only choose the
// labels and the layout. Pure.
import { formatDay } from '../core/time.ts'
import type { MissedStockoutRow } from './report.ts'
import type { CalibrationBin, ForecastScores } from './scores.ts'
import type { SegmentScores } from './segments.ts'

/** A probability or score for people: 3 decimals, '-' when undefined. */
export function fixed(value: number | null, digits = 3): string {
  return value === null ? '-' : value.toFixed(digits)
}

/** Each figure of a forecaster's scores as a table shows it. */
export const FIGURES = {
  n: (s) => String(s.n),
  stockouts: (s) => String(s.stockouts),
  baseRate: (s) => fixed(s.baseRate),
  brier: (s) => fixed(s.brier, 4),
  brierSkillScore: (s) => fixed(s.brierSkillScore),
  rocAuc: (s) => fixed(s.rocAuc),
  ece: (s) => fixed(s.ece),
  averagePrecision: (s) => fixed(s.averagePrecision),
  hits: (s) => String(s.contingency.hits),
  misses: (s) => String(s.contingency.misses),
  falseAlarms: (s) => String(s.contingency.falseAlarms),
  correctNegatives: (s) => String(s.contingency.correctNegatives),
  pod: (s) => fixed(s.contingency.pod),
  far: (s) => fixed(s.contingency.far),
  precision: (s) => fixed(s.contingency.precision),
  recall: (s) => fixed(s.contingency.recall),
  f1: (s) => fixed(s.contingency.f1),
  caught: (s) => `${s.warning.caught} of ${s.warning.stockouts}`,
  medianWarningDays: (s) => fixed(s.warning.medianDays, 1),
} satisfies Record<string, (scores: ForecastScores) => string>

export type Figure = keyof typeof FIGURES

/** One row [label, model, baseline] per [label, figure]: the scores and the alerts (contingency) tables. */
export function figureRows(
  model: ForecastScores,
  baseline: ForecastScores,
  rows: readonly (readonly [label: string, figure: Figure])[],
): string[][] {
  return rows.map(([label, figure]) => [label, FIGURES[figure](model), FIGURES[figure](baseline)])
}

/**
 * One row per bin of predicted risk: its label, the model's count, mean p and observed rate, then the
 * baseline's count and observed rate in the same bin.
 */
export function calibrationRows(
  model: ForecastScores,
  baseline: ForecastScores,
  binLabel: (bin: CalibrationBin, last: boolean) => string,
): string[][] {
  return model.calibration.map((bin, k) => {
    const b = baseline.calibration[k]
    return [
      binLabel(bin, k === model.calibration.length - 1),
      String(bin.count),
      fixed(bin.meanPredicted),
      fixed(bin.observedRate),
      String(b?.count ?? 0),
      fixed(b?.observedRate ?? null),
    ]
  })
}

/** One row per risk level: the model's count, stockouts and observed rate, then the baseline's count and rate. */
export function riskLevelRows(model: ForecastScores, baseline: ForecastScores): string[][] {
  return model.riskLevels.map((row, k) => {
    const b = baseline.riskLevels[k]
    return [
      row.level,
      String(row.count),
      String(row.stockouts),
      fixed(row.observedRate),
      String(b?.count ?? 0),
      fixed(b?.observedRate ?? null),
    ]
  })
}

/** One row per segment: its label, n, stockouts, base rate, Brier skill, ECE and ROC AUC. */
export function segmentRows(segments: readonly SegmentScores[]): string[][] {
  return segments.map((s) => [
    s.label,
    String(s.n),
    String(s.stockouts),
    fixed(s.baseRate),
    fixed(s.brierSkillScore),
    fixed(s.ece),
    fixed(s.rocAuc),
  ])
}

/**
 * One row per missed stockout: the item, the stockout day, how many predictions were about it, the
 * highest risk among them and its day, the on-hand at the close of the latest of them and its day.
 */
export function missedRows(missed: readonly MissedStockoutRow[]): string[][] {
  return missed.map((m) => [
    m.item,
    formatDay(m.day),
    String(m.predictions),
    fixed(m.highestRisk),
    formatDay(m.highestRiskDay),
    String(m.onHand),
    formatDay(m.lastDay),
  ])
}
