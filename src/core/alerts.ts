// SPEC §6: a stockout alert, at most one per item and as-of day.
import type { DemandMetrics } from './metrics.ts'
import type { RiskAssessment, RiskLevel } from './risk.ts'
import { formatDay } from './time.ts'

export interface Alert {
  /** `{sku}:{warehouse_id}:{D as YYYY-MM-DD}`: stable, so a re-sent alert carries the same id. */
  alertId: string
  sku: string
  warehouseId: string
  asOfDay: number
  eventId: string
  eventTs: number
  stockoutRisk: number
  riskLevel: RiskLevel
  onHand: number
  leadTimeDays: number
  expectedDemandLeadTime: number
  daysOfCover: number | null
  reorderPoint: number
  reorderQuantity: number
  velocity7d: number
  velocity30d: number
}

export function alertId(sku: string, warehouseId: string, asOfDay: number): string {
  return `${sku}:${warehouseId}:${formatDay(asOfDay)}`
}

/** Whether the risk after an event calls for an alert: at or over the threshold, and none yet for this D. */
export function shouldAlert(
  risk: number | null,
  threshold: number,
  asOfDay: number,
  lastAlertDay: number,
): boolean {
  return risk !== null && risk >= threshold && asOfDay !== lastAlertDay
}

export function buildAlert(
  sku: string,
  warehouseId: string,
  eventId: string,
  eventTs: number,
  onHand: number,
  metrics: DemandMetrics,
  risk: RiskAssessment,
): Alert {
  return {
    alertId: alertId(sku, warehouseId, metrics.asOfDay),
    sku,
    warehouseId,
    asOfDay: metrics.asOfDay,
    eventId,
    eventTs,
    stockoutRisk: risk.stockoutRisk as number,
    riskLevel: risk.riskLevel,
    onHand,
    leadTimeDays: risk.leadTimeDays,
    expectedDemandLeadTime: risk.expectedDemandLeadTime,
    daysOfCover: risk.daysOfCover,
    reorderPoint: risk.reorderPoint,
    reorderQuantity: risk.reorderQuantity as number,
    velocity7d: metrics.velocity7d,
    velocity30d: metrics.velocity30d,
  }
}

/** The alert's JSON value (SPEC §6) with the wall-clock `generated_at` the sender stamps on it. */
export function alertRecord(alert: Alert, generatedAt: number) {
  return {
    alert_id: alert.alertId,
    sku: alert.sku,
    warehouse_id: alert.warehouseId,
    as_of_date: formatDay(alert.asOfDay),
    event_id: alert.eventId,
    event_timestamp: new Date(alert.eventTs).toISOString(),
    stockout_risk: alert.stockoutRisk,
    risk_level: alert.riskLevel,
    on_hand: alert.onHand,
    lead_time_days: alert.leadTimeDays,
    expected_demand_lead_time: alert.expectedDemandLeadTime,
    days_of_cover: alert.daysOfCover,
    reorder_point: alert.reorderPoint,
    reorder_quantity: alert.reorderQuantity,
    velocity_7d: alert.velocity7d,
    velocity_30d: alert.velocity30d,
    generated_at: new Date(generatedAt).toISOString(),
  }
}
