// The settings of SPEC §8 that change what the core computes.
export interface CoreConfig {
  leadTimeDays: number
  reviewPeriodDays: number
  serviceLevel: number
  alertThreshold: number
  alertResolveThreshold: number
  alertRepeatDays: number
  dedupWindowHours: number
}

export const DEFAULT_CORE_CONFIG: Readonly<CoreConfig> = {
  leadTimeDays: 7,
  reviewPeriodDays: 7,
  serviceLevel: 0.95,
  alertThreshold: 0.5,
  alertResolveThreshold: 0.2,
  alertRepeatDays: 7,
  dedupWindowHours: 48,
}

/** Values derived once from the config, so the per-event path does not recompute them. */
export interface ResolvedConfig extends CoreConfig {
  dedupWindowMs: number
}

export function resolveConfig(config: CoreConfig): ResolvedConfig {
  return {
    ...config,
    dedupWindowMs: config.dedupWindowHours * 3_600_000,
  }
}
