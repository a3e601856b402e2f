// The backtest report: the scores of the model and of the naive baseline, as a JSON record and as
// a terminal table. Pure (no I/O, no clock): the same data give the same bytes.
import type { CoreConfig } from '../core/config.ts'
import { formatDay } from '../core/time.ts'
import { columnLayout } from '../text.ts'
import type { BacktestData, CloseCounts } from './collect.ts'
import {
  type CalibrationBin,
  type CalibrationRegion,
  type ForecastScores,
  largestMiscalibration,
  MIN_CALIBRATION_GAP,
  MIN_JUDGED_COUNT,
  type MissedStockout,
  missedStockouts,
  scoreForecasts,
} from './scores.ts'
import { SEGMENT_RULE, SEGMENT_RULE_SHORT, type SegmentScores, scoreSegments } from './segments.ts'
import { calibrationRows, figureRows, fixed, missedRows, riskLevelRows, segmentRows } from './tables.ts'

export interface EventCounts {
  read: number
  accepted: number
  rejected: number
  duplicates: number
  rejected_by_code: Partial<Record<string, number>>
}

export type BacktestSource = { kind: 'files'; files: string[] } | { kind: 'postgresql'; database: string }

export interface BacktestReport {
  source: BacktestSource
  /** Day numbers (UTC). */
  window: { since: number; until: number }
  endDay: number
  config: CoreConfig
  /** What the files held; null for the PostgreSQL history (consume counted its events as it went). */
  events: EventCounts | null
  items: number
  counts: CloseCounts
  model: ForecastScores
  baseline: ForecastScores
  /** The model's calibration and skill in plain words. */
  verdict: Verdict
  /** The model's scores per segment of items (segments.ts). */
  segments: SegmentScores[]
  /** Every stockout the model's alerts missed, by item key, then day. */
  missed: MissedStockoutRow[]
}

/** A missed stockout with its item's key. */
export type MissedStockoutRow = Omit<MissedStockout, 'item'> & { item: string }

/** Missed stockouts listed in the JSON record (all of them are counted), in the terminal, on the page. */
export const MISSED_IN_RECORD = 200
export const MISSED_IN_TERMINAL = 10
export const MISSED_ON_PAGE = 50

/** The baseline predicts a stockout (p = 1) or not (p = 0): it "alerts" exactly when p = 1. */
export const BASELINE_ALERT_THRESHOLD = 1
export const BASELINE_RULE = 'on_hand < velocity_30d × lead_time'

export function buildReport(
  data: BacktestData,
  config: CoreConfig,
  source: BacktestSource,
  events: EventCounts | null,
): BacktestReport {
  const { predictions } = data
  const model = scoreForecasts(predictions.risk, predictions.outcome, config.alertThreshold, predictions)
  return {
    source,
    window: data.window,
    endDay: data.endDay,
    config,
    events,
    items: data.itemKeys.length,
    counts: data.counts,
    model,
    baseline: scoreForecasts(
      predictions.baseline,
      predictions.outcome,
      BASELINE_ALERT_THRESHOLD,
      predictions,
    ),
    verdict: verdictOf(model),
    segments: scoreSegments(predictions.risk, predictions.outcome, predictions.segment),
    missed: byItemThenDay(
      missedStockouts(predictions, predictions.risk, config.alertThreshold).map((m) => ({
        ...m,
        item: data.itemKeys[m.item] as string,
      })),
    ),
  }
}

function byItemThenDay(rows: MissedStockoutRow[]): MissedStockoutRow[] {
  return rows.sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : a.day - b.day))
}

export interface Verdict {
  /** Both sentences, joined: the first line of the terminal report and of the page. */
  text: string
  calibration: string
  skill: string
  /** The run of bins off calibration that weighs most in the ECE, or null when none is. */
  region: CalibrationRegion | null
}

export const VERDICT_RULE = `bins of p with at least ${MIN_JUDGED_COUNT} predictions whose observed rate differs from their mean p by more than max(${MIN_CALIBRATION_GAP}, 2 standard errors); the run of adjacent such bins that weighs most in the ECE is described`

/** A share for people: "54 %", "4.1 %" below 10 %. */
export function percent(share: number): string {
  const value = share * 100
  return `${value > 0 && value < 9.95 ? value.toFixed(1) : value.toFixed(0)} %`
}

export function verdictOf(scores: ForecastScores): Verdict {
  const region = largestMiscalibration(scores.calibration)
  const calibration = calibrationWords(scores, region)
  const skill = skillWords(scores)
  return { text: `${calibration}; ${skill}`, calibration, skill, region }
}

/** "well calibrated (ECE 0.031)", or where and how the risk was off, from the reliability table. */
export function calibrationWords(scores: ForecastScores, region: CalibrationRegion | null): string {
  const ece = scores.ece
  if (ece === null) return 'calibration not judged: nothing was scored'
  if (!scores.calibration.some((bin) => bin.count >= MIN_JUDGED_COUNT))
    return `calibration not judged: no bin of predicted risk holds ${MIN_JUDGED_COUNT} predictions (ECE ${fixed(ece)})`
  if (region === null) return `well calibrated (ECE ${fixed(ece)})`
  const bins = scores.calibration
  const worst = bins[region.worst] as CalibrationBin
  const stated = region.direction < 0 ? 'overstated' : 'understated'
  return `${confidenceWord(bins, region)} ${regionWords(bins, region)} (the risk is ${stated}): items given ${fixed(worst.meanPredicted, 2)} stocked out ${percent(worst.observedRate as number)} of the time (ECE ${fixed(ece)})`
}

/**
 * Over-confident: the predictions were more extreme than the outcomes bore out (a high risk
 * overstated, or a low one understated); under-confident: less extreme. A region on both sides of
 * 0.5 is neither, only miscalibrated.
 */
function confidenceWord(bins: readonly CalibrationBin[], region: CalibrationRegion): string {
  const high = (bins[region.first] as CalibrationBin).lower >= 0.5
  const low = (bins[region.last] as CalibrationBin).upper <= 0.5
  if (!high && !low) return 'miscalibrated'
  return high === region.direction < 0 ? 'over-confident' : 'under-confident'
}

function regionWords(bins: readonly CalibrationBin[], region: CalibrationRegion): string {
  const from = (bins[region.first] as CalibrationBin).lower.toFixed(1)
  const to = (bins[region.last] as CalibrationBin).upper.toFixed(1)
  const fromStart = region.first === 0
  const toEnd = region.last === bins.length - 1
  if (fromStart && toEnd) return 'at every level of risk'
  if (fromStart) return `below ${to}`
  if (toEnd) return `above ${from}`
  return `between ${from} and ${to}`
}

/** "Brier skill 0.23: better than always saying the base rate (4.1 %) by 23 %". */
export function skillWords(scores: ForecastScores): string {
  const skill = scores.brierSkillScore
  if (scores.n === 0 || scores.baseRate === null) return 'Brier skill undefined: nothing was scored'
  if (skill === null)
    return `Brier skill undefined: ${scores.stockouts === 0 ? 'no prediction was' : 'every prediction was'} followed by a stockout`
  const points = Math.round(skill * 100)
  const reference = `always saying the base rate (${percent(scores.baseRate)})`
  const words =
    points > 0
      ? `better than ${reference} by ${points} %`
      : points < 0
        ? `worse than ${reference} by ${-points} %`
        : `no better than ${reference}`
  return `Brier skill ${skill.toFixed(2)}: ${words}`
}

/**
 * Keeps the points of a curve that move at least `step` (in either coordinate) from the last one
 * kept, and always the first and the last: enough to draw or plot it, small enough to ship.
 */
export function thinCurve(points: readonly [number, number][], step = 0.002): [number, number][] {
  const kept: [number, number][] = []
  for (let i = 0; i < points.length; i++) {
    const point = points[i] as [number, number]
    const last = kept[kept.length - 1]
    if (
      last === undefined ||
      i === points.length - 1 ||
      Math.abs(point[0] - last[0]) >= step ||
      Math.abs(point[1] - last[1]) >= step
    )
      kept.push(point)
  }
  return kept
}

export function rocPoints(scores: ForecastScores): [number, number][] {
  return scores.roc.map((p) => [p.falsePositiveRate, p.truePositiveRate])
}

export function prPoints(scores: ForecastScores): [number, number][] {
  return scores.precisionRecall.map((p) => [p.recall, p.precision])
}

function scoresRecord(scores: ForecastScores, rule: string) {
  const c = scores.contingency
  return {
    alert_rule: rule,
    n: scores.n,
    stockouts: scores.stockouts,
    base_rate: scores.baseRate,
    brier_score: scores.brier,
    brier_reference: scores.brierReference,
    brier_skill_score: scores.brierSkillScore,
    roc_auc: scores.rocAuc,
    ece: scores.ece,
    average_precision: scores.averagePrecision,
    alerts: {
      hits: c.hits,
      misses: c.misses,
      false_alarms: c.falseAlarms,
      correct_negatives: c.correctNegatives,
      probability_of_detection: c.pod,
      false_alarm_ratio: c.far,
      probability_of_false_detection: c.pofd,
      precision: c.precision,
      recall: c.recall,
      f1: c.f1,
    },
    calibration: scores.calibration.map((b) => ({
      from: b.lower,
      to: b.upper,
      count: b.count,
      mean_predicted: b.meanPredicted,
      observed_rate: b.observedRate,
    })),
    risk_levels: Object.fromEntries(
      scores.riskLevels.map((r) => [
        r.level,
        { count: r.count, stockouts: r.stockouts, observed_rate: r.observedRate },
      ]),
    ),
    warning: {
      stockouts: scores.warning.stockouts,
      caught: scores.warning.caught,
      median_days: scores.warning.medianDays,
      days_histogram: scores.warning.daysHistogram,
    },
    roc_curve: thinCurve(rocPoints(scores)),
    pr_curve: thinCurve(prPoints(scores)),
  }
}

/** The `--json` record (snake_case, dates as YYYY-MM-DD; no wall-clock field, so runs compare equal). */
export function reportRecord(report: BacktestReport) {
  const c = report.counts
  return {
    source: report.source,
    verdict: verdictRecord(report.verdict, report.model.calibration),
    window: {
      since: formatDay(report.window.since),
      until: formatDay(report.window.until),
      days: report.window.until - report.window.since + 1,
      data_end: formatDay(report.endDay),
    },
    settings: {
      lead_time_days: report.config.leadTimeDays,
      review_period_days: report.config.reviewPeriodDays,
      service_level: report.config.serviceLevel,
      alert_threshold: report.config.alertThreshold,
      dedup_window_hours: report.config.dedupWindowHours,
    },
    events: report.events,
    items: report.items,
    closes: {
      in_window: c.closes,
      scored: c.scored,
      left_out_horizon_past_end: c.leftOut,
      on_hand_unknown: c.onHandUnknown,
      out_of_stock: c.outOfStock,
    },
    model: scoresRecord(report.model, `stockout_risk >= ${report.config.alertThreshold}`),
    baseline: scoresRecord(report.baseline, BASELINE_RULE),
    segment_rule: SEGMENT_RULE,
    segments: Object.fromEntries(
      report.segments.map((s) => [
        s.name,
        {
          n: s.n,
          stockouts: s.stockouts,
          base_rate: s.baseRate,
          brier_skill_score: s.brierSkillScore,
          ece: s.ece,
          roc_auc: s.rocAuc,
        },
      ]),
    ),
    missed_stockouts: {
      total: report.missed.length,
      listed: Math.min(report.missed.length, MISSED_IN_RECORD),
      stockouts: report.missed.slice(0, MISSED_IN_RECORD).map((m) => ({
        item: m.item,
        day: formatDay(m.day),
        predictions: m.predictions,
        highest_risk: m.highestRisk,
        highest_risk_day: formatDay(m.highestRiskDay),
        last_prediction_day: formatDay(m.lastDay),
        on_hand: m.onHand,
      })),
    },
  }
}

function verdictRecord(verdict: Verdict, bins: readonly CalibrationBin[]) {
  const region = verdict.region
  const worst = region === null ? null : (bins[region.worst] as CalibrationBin)
  return {
    text: verdict.text,
    calibration: verdict.calibration,
    skill: verdict.skill,
    rule: VERDICT_RULE,
    miscalibrated:
      region === null || worst === null
        ? null
        : {
            from: (bins[region.first] as CalibrationBin).lower,
            to: (bins[region.last] as CalibrationBin).upper,
            risk: region.direction < 0 ? 'overstated' : 'understated',
            predictions: region.count,
            worst_bin: {
              from: worst.lower,
              to: worst.upper,
              count: worst.count,
              mean_predicted: worst.meanPredicted,
              observed_rate: worst.observedRate,
            },
          },
  }
}

/** Plain-words warnings about figures that are missing or undefined, for the terminal and the page. */
export function reportNotes(report: BacktestReport): string[] {
  const c = report.counts
  const notes: string[] = []
  if (c.scored === 0 && report.window.since > report.endDay) {
    notes.push(
      `nothing could be scored: the window begins after the data end ${formatDay(report.endDay)}${report.source.kind === 'postgresql' ? ' (nothing was stored since; relative bounds count back from today for the PostgreSQL history)' : ''}; name the days with --since and --until`,
    )
  } else if (c.scored === 0) {
    notes.push(
      c.leftOut > 0
        ? `nothing could be scored: all ${c.leftOut} predictions in the window look past the end of the data (their lead time runs beyond ${formatDay(report.endDay)}); start the window earlier (--since)`
        : 'nothing could be scored: no item had stock on hand known and above 0 at a close in the window',
    )
  } else if (report.model.stockouts === 0) {
    notes.push(
      'no prediction was followed by a stockout: ROC AUC, average precision and the skill score are undefined',
    )
  } else if (report.model.stockouts === report.model.n) {
    notes.push('every prediction was followed by a stockout: ROC AUC and the skill score are undefined')
  }
  return notes
}

/** What was read: the files, or where the PostgreSQL history is. */
export function sourceWords(report: BacktestReport): string {
  return report.source.kind === 'files'
    ? report.source.files.join(', ')
    : `the PostgreSQL history in ${report.source.database} (analytics.daily_inventory)`
}

/** The files' event counts in words; null for the PostgreSQL history, which does not keep them. */
export function eventWords(report: BacktestReport): string | null {
  const e = report.events
  if (e === null) return null
  const byCode = Object.entries(e.rejected_by_code)
    .sort(([, a], [, b]) => (b as number) - (a as number))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ')
  return `${e.read} read, ${e.accepted} accepted, ${e.rejected} rejected${byCode ? ` (${byCode})` : ''}, ${e.duplicates} duplicates`
}

function inputLine(report: BacktestReport): string {
  const events = eventWords(report)
  return events === null
    ? `history      ${sourceWords(report)}; ${report.items} items`
    : `events       ${events}; ${report.items} items`
}

function table(header: string[], rows: string[][], leftColumns = 1): string {
  const { line, rule } = columnLayout(header, rows, (i) => i < leftColumns)
  return [line(header), rule, ...rows.map(line)].join('\n')
}

/** The terminal report. */
export function formatReport(report: BacktestReport): string {
  const { model, baseline, counts: c, config } = report
  const days = report.window.until - report.window.since + 1
  const summary = table(
    ['', 'model', 'naive baseline'],
    figureRows(model, baseline, [
      ['predictions (n)', 'n'],
      ['stockouts followed (y = 1)', 'stockouts'],
      ['base rate', 'baseRate'],
      ['Brier score (lower is better)', 'brier'],
      ['Brier skill score vs base rate', 'brierSkillScore'],
      ['ROC AUC', 'rocAuc'],
      ['expected calibration error', 'ece'],
      ['average precision (PR curve)', 'averagePrecision'],
      ['alerts: hits', 'hits'],
      ['        misses', 'misses'],
      ['        false alarms', 'falseAlarms'],
      ['        correct negatives', 'correctNegatives'],
      ['POD = recall', 'pod'],
      ['FAR (false-alarm ratio)', 'far'],
      ['precision', 'precision'],
      ['F1', 'f1'],
      ['stockouts caught', 'caught'],
      ['median days of warning', 'medianWarningDays'],
    ]),
  )
  return [
    `verdict      ${report.verdict.text}`,
    `backtest     ${formatDay(report.window.since)} … ${formatDay(report.window.until)} (${days} day${days === 1 ? '' : 's'}), data ends ${formatDay(report.endDay)}`,
    inputLine(report),
    `closes       ${c.closes} item-days in the window: ${c.scored} scored, ${c.leftOut} left out (horizon past the end of the data), ${c.onHandUnknown} on-hand unknown, ${c.outOfStock} already out of stock`,
    `settings     alert threshold ${config.alertThreshold}, default lead time ${config.leadTimeDays} d, service level ${config.serviceLevel}; baseline: stockout when ${BASELINE_RULE}`,
    ...reportNotes(report).map((note) => `note         ${note}`),
    '',
    summary,
    '',
    'calibration  (baseline p is 0 or 1)',
    table(
      ['p', 'count', 'mean p', 'observed', 'baseline count', 'observed'],
      calibrationRows(model, baseline, (bin) => `${bin.lower.toFixed(1)}–${bin.upper.toFixed(1)}`),
    ),
    '',
    'risk levels',
    table(
      ['level', 'count', 'stockouts', 'observed', 'baseline count', 'observed'],
      riskLevelRows(model, baseline),
    ),
    '',
    `segments     ${SEGMENT_RULE_SHORT}`,
    table(
      ['segment', 'n', 'stockouts', 'base rate', 'Brier skill', 'ECE', 'ROC AUC'],
      segmentRows(report.segments),
    ),
    '',
    `missed stockouts: ${missedHeading(report, MISSED_IN_TERMINAL)}`,
    ...(report.missed.length === 0
      ? []
      : [table(MISSED_HEADER, missedRows(report.missed.slice(0, MISSED_IN_TERMINAL)), 2)]),
  ].join('\n')
}

export const MISSED_HEADER = [
  'item',
  'stockout day',
  'predictions',
  'highest risk',
  'predicted on',
  'on hand',
  'at the close of',
]

/** "31 of 123 stockouts had no alert (…) before them; the first 10, by item, then day" */
export function missedHeading(report: BacktestReport, shown: number): string {
  const total = report.missed.length
  const of = `${total} of ${report.model.warning.stockouts} stockouts had no alert (stockout_risk ≥ ${report.config.alertThreshold}) in the lead time before them`
  return total > shown ? `${of}; the first ${shown}, by item, then day` : of
}
