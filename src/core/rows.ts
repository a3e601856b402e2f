// SPEC §7 output rows: the processed-metrics row of an item and its daily history row.
import type { DemandMetrics } from './metrics.ts'
import type { RiskAssessment, RiskLevel } from './risk.ts'
import { dayOf, formatDay } from './time.ts'

export interface MetricsRow {
  sku: string
  warehouseId: string
  /** Day number of D. */
  asOfDay: number
  /** Epoch ms of the item's latest event. */
  lastEventAt: number
  eventCount: number
  onHand: number | null
  velocity7d: number
  velocity30d: number
  volatility: number
  trend: number
  seasonalityIndex: number
  daysOfHistory: number
  leadTimeDays: number
  expectedDemandLeadTime: number
  stockoutRisk: number | null
  riskLevel: RiskLevel
  daysOfCover: number | null
  safetyStock: number
  reorderPoint: number
  reorderQuantity: number | null
  onOrder: number
  inventoryPosition: number | null
  /** Day number, or null. */
  expectedStockoutDate: number | null
  /** Epoch ms, wall clock of the batch that emitted the row. */
  computedAt: number
}

export function buildMetricsRow(
  sku: string,
  warehouseId: string,
  lastEventAt: number,
  eventCount: number,
  onHand: number | null,
  metrics: DemandMetrics,
  risk: RiskAssessment,
  computedAt: number,
): MetricsRow {
  return {
    sku,
    warehouseId,
    asOfDay: metrics.asOfDay,
    lastEventAt,
    eventCount,
    onHand,
    velocity7d: metrics.velocity7d,
    velocity30d: metrics.velocity30d,
    volatility: metrics.volatility,
    trend: metrics.trend,
    seasonalityIndex: metrics.seasonalityIndex,
    daysOfHistory: metrics.daysOfHistory,
    leadTimeDays: risk.leadTimeDays,
    expectedDemandLeadTime: risk.expectedDemandLeadTime,
    stockoutRisk: risk.stockoutRisk,
    riskLevel: risk.riskLevel,
    daysOfCover: risk.daysOfCover,
    safetyStock: risk.safetyStock,
    reorderPoint: risk.reorderPoint,
    reorderQuantity: risk.reorderQuantity,
    onOrder: risk.onOrder,
    inventoryPosition: risk.inventoryPosition,
    expectedStockoutDate: risk.expectedStockoutDate,
    computedAt,
  }
}

export type ColumnKind = 'string' | 'date' | 'timestamp' | 'int64' | 'double'

export interface MetricsColumn {
  /** SPEC §7's name, the same in PostgreSQL, Parquet, CSV and JSON. */
  name: string
  field: keyof MetricsRow
  /** Dates are day numbers in the row and YYYY-MM-DD in a record; timestamps epoch ms and ISO-8601 UTC. */
  kind: ColumnKind
  nullable: boolean
}

const column = <const N extends string, const K extends ColumnKind, const Null extends boolean = false>(
  name: N,
  field: keyof MetricsRow,
  kind: K,
  nullable?: Null,
) => ({ name, field, kind, nullable: (nullable ?? false) as Null })

/**
 * SPEC §7's processed-metrics columns, in order: the one list that the records (JSON, CSV), the
 * Parquet schema and the PostgreSQL writes derive from.
 */
export const METRICS_COLUMNS = [
  column('sku', 'sku', 'string'),
  column('warehouse_id', 'warehouseId', 'string'),
  column('as_of_date', 'asOfDay', 'date'),
  column('last_event_at', 'lastEventAt', 'timestamp'),
  column('event_count', 'eventCount', 'int64'),
  column('on_hand', 'onHand', 'double', true),
  column('velocity_7d', 'velocity7d', 'double'),
  column('velocity_30d', 'velocity30d', 'double'),
  column('volatility', 'volatility', 'double'),
  column('trend', 'trend', 'double'),
  column('seasonality_index', 'seasonalityIndex', 'double'),
  column('days_of_history', 'daysOfHistory', 'int64'),
  column('lead_time_days', 'leadTimeDays', 'double'),
  column('expected_demand_lead_time', 'expectedDemandLeadTime', 'double'),
  column('stockout_risk', 'stockoutRisk', 'double', true),
  column('risk_level', 'riskLevel', 'string'),
  column('days_of_cover', 'daysOfCover', 'double', true),
  column('safety_stock', 'safetyStock', 'double'),
  column('reorder_point', 'reorderPoint', 'double'),
  column('reorder_quantity', 'reorderQuantity', 'double', true),
  column('on_order', 'onOrder', 'double'),
  column('inventory_position', 'inventoryPosition', 'double', true),
  column('expected_stockout_date', 'expectedStockoutDate', 'date', true),
  column('computed_at', 'computedAt', 'timestamp'),
] as const satisfies readonly MetricsColumn[]

type RecordValue<C extends MetricsColumn> =
  | (C['kind'] extends 'int64' | 'double' ? number : string)
  | (C['nullable'] extends true ? null : never)

/** A row with SPEC §7 column names, dates as YYYY-MM-DD and timestamps as ISO-8601 UTC. */
export type MetricsRecord = {
  [C in (typeof METRICS_COLUMNS)[number] as C['name']]: RecordValue<C>
}

export function metricsRecord(row: MetricsRow): MetricsRecord {
  const record: Record<string, string | number | null> = {}
  for (const c of METRICS_COLUMNS as readonly MetricsColumn[]) {
    const value = row[c.field] as string | number | null
    record[c.name] =
      value === null || c.kind === 'string' || c.kind === 'int64' || c.kind === 'double'
        ? value
        : c.kind === 'date'
          ? formatDay(value as number)
          : new Date(value as number).toISOString()
  }
  return record as MetricsRecord
}

/** The inverse of metricsRecord, for rows that went through JSON. */
export function metricsRowFromRecord(record: MetricsRecord): MetricsRow {
  const row: Record<string, string | number | null> = {}
  for (const c of METRICS_COLUMNS as readonly MetricsColumn[]) {
    const value = (record as Record<string, string | number | null>)[c.name] ?? null
    row[c.field] =
      value === null || c.kind === 'string' || c.kind === 'int64' || c.kind === 'double'
        ? value
        : c.kind === 'date'
          ? dayFromDate(value as string)
          : Date.parse(value as string)
  }
  return row as unknown as MetricsRow
}

function dayFromDate(date: string): number {
  return dayOf(Date.parse(`${date}T00:00:00Z`))
}

/** The daily-history delta with the column names of analytics.daily_inventory. */
export function dailyRecord(delta: DailyDelta) {
  return {
    sku: delta.sku,
    warehouse_id: delta.warehouseId,
    date: formatDay(delta.day),
    sold: delta.sold,
    returned: delta.returned,
    received: delta.received,
    adjusted: delta.adjusted,
    closing_on_hand: delta.closingOnHand,
    stockout: delta.stockout,
  }
}

/**
 * What one batch did to one (item, day) of the daily history (SPEC §3). Units add up across
 * batches; the closing on-hand of the batch replaces the earlier one, and a stockout stays a stockout.
 */
export interface DailyDelta {
  /** The item key (ItemState.key: one string per item, so keying by it makes no new string). */
  key: string
  sku: string
  warehouseId: string
  day: number
  sold: number
  returned: number
  received: number
  adjusted: number
  closingOnHand: number | null
  stockout: boolean
}

/** Merges a later batch's delta into the accumulated daily row of the same (item, day). */
export function mergeDaily(earlier: DailyDelta, later: DailyDelta): DailyDelta {
  return {
    ...earlier,
    sold: earlier.sold + later.sold,
    returned: earlier.returned + later.returned,
    received: earlier.received + later.received,
    adjusted: earlier.adjusted + later.adjusted,
    closingOnHand: later.closingOnHand,
    stockout: earlier.stockout || later.stockout,
  }
}
