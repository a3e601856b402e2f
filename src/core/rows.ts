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

/** The row with SPEC §7 column names, dates as YYYY-MM-DD and timestamps as ISO-8601 UTC. */
export function metricsRecord(row: MetricsRow) {
  return {
    sku: row.sku,
    warehouse_id: row.warehouseId,
    as_of_date: formatDay(row.asOfDay),
    last_event_at: new Date(row.lastEventAt).toISOString(),
    event_count: row.eventCount,
    on_hand: row.onHand,
    velocity_7d: row.velocity7d,
    velocity_30d: row.velocity30d,
    volatility: row.volatility,
    trend: row.trend,
    seasonality_index: row.seasonalityIndex,
    days_of_history: row.daysOfHistory,
    lead_time_days: row.leadTimeDays,
    expected_demand_lead_time: row.expectedDemandLeadTime,
    stockout_risk: row.stockoutRisk,
    risk_level: row.riskLevel,
    days_of_cover: row.daysOfCover,
    safety_stock: row.safetyStock,
    reorder_point: row.reorderPoint,
    reorder_quantity: row.reorderQuantity,
    on_order: row.onOrder,
    inventory_position: row.inventoryPosition,
    expected_stockout_date: row.expectedStockoutDate === null ? null : formatDay(row.expectedStockoutDate),
    computed_at: new Date(row.computedAt).toISOString(),
  }
}

export type MetricsRecord = ReturnType<typeof metricsRecord>

/** The inverse of metricsRecord, for rows that went through JSON (the Parquet outbox). */
export function metricsRowFromRecord(record: MetricsRecord): MetricsRow {
  return {
    sku: record.sku,
    warehouseId: record.warehouse_id,
    asOfDay: dayFromDate(record.as_of_date),
    lastEventAt: Date.parse(record.last_event_at),
    eventCount: record.event_count,
    onHand: record.on_hand,
    velocity7d: record.velocity_7d,
    velocity30d: record.velocity_30d,
    volatility: record.volatility,
    trend: record.trend,
    seasonalityIndex: record.seasonality_index,
    daysOfHistory: record.days_of_history,
    leadTimeDays: record.lead_time_days,
    expectedDemandLeadTime: record.expected_demand_lead_time,
    stockoutRisk: record.stockout_risk,
    riskLevel: record.risk_level,
    daysOfCover: record.days_of_cover,
    safetyStock: record.safety_stock,
    reorderPoint: record.reorder_point,
    reorderQuantity: record.reorder_quantity,
    onOrder: record.on_order,
    inventoryPosition: record.inventory_position,
    expectedStockoutDate:
      record.expected_stockout_date === null ? null : dayFromDate(record.expected_stockout_date),
    computedAt: Date.parse(record.computed_at),
  }
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
