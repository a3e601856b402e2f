// The backtest report: the scores of the model and of the naive baseline, as a JSON record and as
// a terminal table. Pure (no I/O, no clock): the same data give the same bytes.
import type { CoreConfig } from '../core/config.ts'
import { formatDay } from '../core/time.ts'
import type { BacktestData, CloseCounts } from './collect.ts'
import { type ForecastScores, scoreForecasts } from './scores.ts'
import { calibrationRows, figureRows, riskLevelRows } from './tables.ts'

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
}

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
  return {
    source,
    window: data.window,
    endDay: data.endDay,
    config,
    events,
    items: data.itemKeys.length,
    counts: data.counts,
    model: scoreForecasts(predictions.risk, predictions.outcome, config.alertThreshold, predictions),
    baseline: scoreForecasts(
      predictions.baseline,
      predictions.outcome,
      BASELINE_ALERT_THRESHOLD,
      predictions,
    ),
  }
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
  }
}

export type BacktestRecord = ReturnType<typeof reportRecord>

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
    : `the PostgreSQL history in ${report.source.database} (analytics.daily_close, analytics.daily_inventory)`
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i < leftColumns ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
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
  ].join('\n')
}
