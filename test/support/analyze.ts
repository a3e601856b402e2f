// Runs the core over JSON lines the way replay does, and returns the results in the shape of the
// golden cases and of the Python oracle (test/oracle/oracle.py), for comparison.
import { alertRecord } from '../../src/core/alerts.ts'
import { type CoreConfig, DEFAULT_CORE_CONFIG } from '../../src/core/config.ts'
import { Engine } from '../../src/core/engine.ts'
import { intake, parseRecord } from '../../src/core/intake.ts'
import { type DailyDelta, dailyRecord, mergeDaily, metricsRecord } from '../../src/core/rows.ts'
import { Tally } from '../../src/core/tally.ts'

export interface Analysis {
  final: Record<string, unknown>[]
  alerts: Record<string, unknown>[]
  rejects: { line: number; code: string }[]
  duplicates: number[]
  daily: Record<string, unknown>[]
  counts: { read: number; accepted: number; rejected: number; duplicates: number }
}

/** Settings by their SPEC §8 names in snake case (golden cases, the oracle) as the core's. */
export function coreConfigOf(config: Record<string, number>): Partial<CoreConfig> {
  const names: Record<string, keyof CoreConfig> = {
    lead_time_days: 'leadTimeDays',
    review_period_days: 'reviewPeriodDays',
    service_level: 'serviceLevel',
    alert_threshold: 'alertThreshold',
    alert_resolve_threshold: 'alertResolveThreshold',
    alert_repeat_days: 'alertRepeatDays',
    dedup_window_hours: 'dedupWindowHours',
  }
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [names[k] ?? k, v]))
}

export function analyze(lines: string[], config: Partial<CoreConfig> = {}, batchSize = 100): Analysis {
  const engine = new Engine({ ...DEFAULT_CORE_CONFIG, ...config }, { trackDaily: true })
  const tally = new Tally()
  const alerts: Record<string, unknown>[] = []
  const rejects: Analysis['rejects'] = []
  const duplicates: number[] = []
  const daily = new Map<string, DailyDelta>()
  let inBatch = 0
  const endBatch = () => {
    const batch = engine.flush(0)
    for (const alert of batch.alerts) {
      const { generated_at: _, ...record } = alertRecord(alert, 0)
      alerts.push(record)
    }
    for (const delta of batch.daily) {
      const slot = `${delta.sku}:${delta.warehouseId}:${delta.day}`
      const earlier = daily.get(slot)
      daily.set(slot, earlier === undefined ? delta : mergeDaily(earlier, delta))
    }
    inBatch = 0
  }
  lines.forEach((line, index) => {
    const parsed = parseRecord(line)
    if (parsed === null) return
    const outcome = intake(engine, tally, parsed)
    if (outcome === 'duplicate') duplicates.push(index + 1)
    else if (outcome !== 'applied') rejects.push({ line: index + 1, code: outcome.code })
    if (++inBatch >= batchSize) endBatch()
  })
  endBatch()
  const final = [...engine.currentRows(0)].map((row) => {
    const { computed_at: _, ...record } = metricsRecord(row)
    return record
  })
  return {
    final: final.sort(byItem),
    alerts,
    rejects,
    duplicates,
    daily: [...daily.values()].map(dailyRecord).sort((a, b) => byItem(a, b) || (a.date < b.date ? -1 : 1)),
    counts: {
      read: tally.read,
      accepted: tally.accepted,
      rejected: tally.rejected,
      duplicates: tally.duplicates,
    },
  }
}

function byItem(a: { sku: string; warehouse_id: string }, b: { sku: string; warehouse_id: string }): number {
  if (a.sku !== b.sku) return a.sku < b.sku ? -1 : 1
  if (a.warehouse_id !== b.warehouse_id) return a.warehouse_id < b.warehouse_id ? -1 : 1
  return 0
}

/** Deep comparison where numbers may differ by 1e-9, relative or absolute; returns the first difference. */
export function firstDifference(actual: unknown, expected: unknown, path = '$'): string | null {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tolerance = 1e-9 * Math.max(1, Math.abs(expected))
    return Math.abs(actual - expected) <= tolerance ? null : `${path}: ${actual} != ${expected}`
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: not an array`
    if (actual.length !== expected.length) return `${path}: length ${actual.length} != ${expected.length}`
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(actual[i], expected[i], `${path}[${i}]`)
      if (d) return d
    }
    return null
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${path}: not an object`
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)])
    for (const key of keys) {
      const d = firstDifference(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      )
      if (d) return d
    }
    return null
  }
  return Object.is(actual, expected)
    ? null
    : `${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`
}

/**
 * The analysis without the alerts' `reason`: free text for a planner (SPEC §6), which the oracle and
 * the golden cases do not write, so they compare every other field.
 */
export function withoutReasons(analysis: Analysis): Analysis {
  return { ...analysis, alerts: analysis.alerts.map(({ reason: _, ...alert }) => alert) }
}
