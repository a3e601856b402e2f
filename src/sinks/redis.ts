// Redis `metrics:{sku}:{warehouse_id}` hashes (SPEC §7): the latest figures for fast look-ups.
// Written after PostgreSQL commits; while Redis is down the latest row of each item waits here and
// is retried, so an outage delays the cache but never stops the pipeline.
import { readFileSync } from 'node:fs'
import Redis from 'ioredis'
import type { Settings } from '../config.ts'
import type { MetricsRow } from '../core/rows.ts'
import { formatDay } from '../core/time.ts'
import { log } from '../log.ts'

export const REDIS_SETTINGS = [
  'redisHost',
  'redisPort',
  'redisPassword',
  'redisTls',
  'redisTlsCaFile',
  'redisTtlSeconds',
] as const

export function connectRedis(settings: Settings<(typeof REDIS_SETTINGS)[number]>): Redis {
  const redis = new Redis({
    host: settings.redisHost,
    port: settings.redisPort,
    password: settings.redisPassword,
    // TLS (REDIS_TLS): the server's certificate is checked against REDIS_TLS_CA_FILE, else the system CAs.
    tls: settings.redisTls
      ? settings.redisTlsCaFile
        ? { ca: readFileSync(settings.redisTlsCaFile, 'utf8') }
        : {}
      : undefined,
    lazyConnect: true,
    // Fail fast while disconnected: the sink keeps the rows and retries, the pipeline goes on.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  })
  // Connection errors surface as failed writes, which the sink counts and reports.
  redis.on('error', (error) => log.debug('redis connection error', { error: error.message }))
  return redis
}

export function redisKey(sku: string, warehouseId: string): string {
  return `metrics:${sku}:${warehouseId}`
}

/** The hash fields of SPEC §7; unknown values are empty strings. */
export function redisFields(row: MetricsRow): Record<string, string> {
  const text = (value: number | null) => (value === null ? '' : String(value))
  return {
    velocity_7d: text(row.velocity7d),
    velocity_30d: text(row.velocity30d),
    stockout_risk: text(row.stockoutRisk),
    risk_level: row.riskLevel,
    on_hand: text(row.onHand),
    on_order: text(row.onOrder),
    reorder_quantity: text(row.reorderQuantity),
    expected_stockout_date: row.expectedStockoutDate === null ? '' : formatDay(row.expectedStockoutDate),
    as_of_date: formatDay(row.asOfDay),
    last_updated: new Date(row.computedAt).toISOString(),
  }
}

export class RedisMetricsSink {
  /** Failed writes (each retried later). */
  errors = 0
  lastError: string | null = null
  private pending = new Map<string, Record<string, string>>()

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  get backlog(): number {
    return this.pending.size
  }

  /** Queues the rows (latest per item wins) and tries to write everything queued. */
  async write(rows: readonly MetricsRow[]): Promise<boolean> {
    for (const row of rows) this.pending.set(redisKey(row.sku, row.warehouseId), redisFields(row))
    return this.flush()
  }

  /** One pipelined HSET + EXPIRE per queued item; on failure the queue is kept for the next try. */
  async flush(): Promise<boolean> {
    if (this.pending.size === 0) return true
    const batch = this.pending
    this.pending = new Map()
    try {
      if (this.redis.status === 'wait') await this.redis.connect()
      const pipeline = this.redis.pipeline()
      for (const [key, fields] of batch) pipeline.hset(key, fields).expire(key, this.ttlSeconds)
      const results = await pipeline.exec()
      const failed = results?.find(([error]) => error !== null)
      if (failed) throw failed[0]
      return true
    } catch (error) {
      this.errors++
      this.lastError = (error as Error).message
      // Newer rows queued meanwhile win over the ones that failed.
      for (const [key, fields] of batch) if (!this.pending.has(key)) this.pending.set(key, fields)
      return false
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}
