// SPEC §5: stockout risk over the lead time and the reorder recommendation.
import type { ResolvedConfig } from './config.ts'
import type { DemandMetrics } from './metrics.ts'
import { normalSurvival } from './normal.ts'

export const RISK_LEVELS = ['unknown', 'low', 'medium', 'high', 'critical'] as const
export type RiskLevel = (typeof RISK_LEVELS)[number]

export interface RiskAssessment {
  leadTimeDays: number
  expectedDemandLeadTime: number
  safetyStock: number
  reorderPoint: number
  stockoutRisk: number | null
  riskLevel: RiskLevel
  daysOfCover: number | null
  reorderQuantity: number | null
}

/** μ(T): expected demand over T days from level L and slope b, never negative. */
export function expectedDemand(level: number, slope: number, days: number): number {
  return Math.max(0, days * level + (slope * days * (days + 1)) / 2)
}

export function assessRisk(
  metrics: DemandMetrics,
  onHand: number | null,
  leadTimeDays: number,
  config: ResolvedConfig,
): RiskAssessment {
  const level = metrics.velocity7d
  const sigma = metrics.volatility
  const expectedDemandLeadTime = expectedDemand(level, metrics.trend, leadTimeDays)
  const safetyStock = config.z * sigma * Math.sqrt(leadTimeDays)
  const reorderPoint = expectedDemandLeadTime + safetyStock
  const stockoutRisk = riskOfStockout(onHand, expectedDemandLeadTime, sigma, leadTimeDays)
  return {
    leadTimeDays,
    expectedDemandLeadTime,
    safetyStock,
    reorderPoint,
    stockoutRisk,
    riskLevel: riskLevel(stockoutRisk),
    daysOfCover: daysOfCover(onHand, level),
    reorderQuantity: reorderQuantity(onHand, reorderPoint, metrics, leadTimeDays, config),
  }
}

/** P(demand over the lead time exceeds on-hand), demand ~ Normal(μ(H), σ√H). */
export function riskOfStockout(
  onHand: number | null,
  mean: number,
  sigma: number,
  leadTimeDays: number,
): number | null {
  if (onHand === null) return null
  if (onHand <= 0) return 1
  const spread = sigma * Math.sqrt(leadTimeDays)
  // A σ so small that σ·√H rounds to 0 is no spread at all: the σ = 0 rule, not 0/0.
  if (spread === 0) return mean >= onHand ? 1 : 0
  return normalSurvival((onHand - mean) / spread)
}

export function riskLevel(risk: number | null): RiskLevel {
  if (risk === null) return 'unknown'
  if (risk >= 0.8) return 'critical'
  if (risk >= 0.5) return 'high'
  if (risk >= 0.2) return 'medium'
  return 'low'
}

function daysOfCover(onHand: number | null, level: number): number | null {
  if (onHand === null) return null
  if (onHand <= 0) return 0
  return level === 0 ? null : onHand / level
}

/** Order up to the demand over lead time plus review period, with its safety stock. */
function reorderQuantity(
  onHand: number | null,
  reorderPoint: number,
  metrics: DemandMetrics,
  leadTimeDays: number,
  config: ResolvedConfig,
): number | null {
  if (onHand === null) return null
  if (onHand > reorderPoint) return 0
  const horizon = leadTimeDays + config.reviewPeriodDays
  const orderUpTo =
    expectedDemand(metrics.velocity7d, metrics.trend, horizon) +
    config.z * metrics.volatility * Math.sqrt(horizon)
  // The 1e-9 keeps floating-point dust (e.g. 12.000000000000002) from ordering one unit more.
  return Math.max(0, Math.ceil(orderUpTo - onHand - 1e-9))
}
