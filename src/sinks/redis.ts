// Redis `metrics:{sku}:{warehouse_id}` hashes (SPEC §7): the latest figures for fast look-ups.
// Written after PostgreSQL commits; while Redis is down the latest row of each item waits here and
// is retried. `consume` (src/consume/redis-sync.ts) writes in the background and rebuilds the
// hashes from PostgreSQL, so an outage delays the cache but never stops the pipeline or loses a row.
import { readFileSync } from 'node:fs'
import Redis from 'ioredis'
import type { Settings } from '../config.ts'
import type { MetricsRow } from '../core/rows.ts'
import { formatDay } from '../core/time.ts'
import { errorText, log } from '../log.ts'

export const REDIS_SETTINGS = [
  'redisHost',
  'redisPort',
  'redisPassword',
  'redisTls',
  'redisTlsCaFile',
  'redisTtlSeconds',
] as const

/** Every Redis command fails after this long without an answer (a frozen server). */
export const REDIS_COMMAND_TIMEOUT_MS = 5_000

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
    connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    keepAlive: 10_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  })
  // Connection errors surface as failed writes, which the sink counts and reports (with this cause).
  redis.on('error', (error) => log.debug('redis connection error', { error: errorText(error) }))
  return redis
}

export function redisKey(sku: string, warehouseId: string): string {
  return `metrics:${sku}:${warehouseId}`
}

/** SPEC §7's hash fields. */
const HASH_FIELDS = [
  'velocity_7d',
  'velocity_30d',
  'stockout_risk',
  'risk_level',
  'on_hand',
  'on_order',
  'reorder_quantity',
  'expected_stockout_date',
  'as_of_date',
  'last_updated',
] as const

type HashField = (typeof HASH_FIELDS)[number]

/** The hash fields of SPEC §7; unknown values are empty strings. */
export function redisFields(row: MetricsRow): Record<HashField, string> {
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

/** Arguments per hash of WRITE_IF_NEWER: its expiry, then the value of each field. */
const ARGS_PER_HASH = 1 + HASH_FIELDS.length

/**
 * HSET + PEXPIREAT of each hash unless it already holds a newer row (a later `last_updated`: ISO
 * times compare as text). Keeps a rebuild from PostgreSQL, or an instance flushing rows it kept
 * through an outage after its partition moved on, from overwriting what a newer batch wrote.
 * KEYS: the hashes; ARGV: for each, its expiry (epoch ms) and its values in HASH_FIELDS' order.
 * Several hashes a call, and values without their names: ioredis spent more on each command and
 * argument than Redis spends on the hash.
 */
const WRITE_IF_NEWER = `
for k = 1, #KEYS do
  local at = (k - 1) * ${ARGS_PER_HASH}
  local current = redis.call('HGET', KEYS[k], 'last_updated')
  if not (current and current > ARGV[at + ${ARGS_PER_HASH}]) then
    redis.call('HSET', KEYS[k], ${HASH_FIELDS.map((field, i) => `'${field}', ARGV[at + ${i + 2}]`).join(', ')})
    redis.call('PEXPIREAT', KEYS[k], ARGV[at + 1])
  end
end`

/** Hashes per WRITE_IF_NEWER call. */
const HASHES_PER_CALL = 100

type RedisWithScript = Redis & {
  writeIfNewer(hashes: number, ...keysThenArgs: (string | number)[]): Promise<unknown>
}

interface PendingHash {
  fields: Record<HashField, string>
  /** Epoch ms at which the hash expires: its row's computing time + the TTL. */
  expireAt: number
}

/** Queues WRITE_IF_NEWER for the hashes, HASHES_PER_CALL at a time. */
function writeIfNewer(pipeline: RedisWithScript, hashes: [string, PendingHash][]): void {
  for (let start = 0; start < hashes.length; start += HASHES_PER_CALL) {
    const chunk = hashes.slice(start, start + HASHES_PER_CALL)
    const args: (string | number)[] = chunk.map(([key]) => key)
    for (const [, { fields, expireAt }] of chunk) {
      args.push(expireAt)
      for (const field of HASH_FIELDS) args.push(fields[field])
    }
    pipeline.writeIfNewer(chunk.length, ...args)
  }
}

export interface RedisSinkOptions {
  /** Write a hash only over an older row (consume); replay overwrites. */
  onlyNewer?: boolean
}

export class RedisMetricsSink {
  /** Failed writes (each retried later). */
  errors = 0
  lastError: string | null = null
  /** The last error of the connection itself (refused, WRONGPASS, TLS): the cause of failed commands. */
  connectionError: string | null = null
  /** Called when the connection is ready again after having been lost (Redis may have restarted empty). */
  onReconnect: (() => void) | null = null
  private pending = new Map<string, PendingHash>()
  /** The hashes of the write under way (not written until it answers). */
  private inFlight: Map<string, PendingHash> | null = null
  private wasReady = false
  private connecting: Promise<void> | null = null

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly options: RedisSinkOptions = {},
  ) {
    redis.defineCommand('writeIfNewer', { lua: WRITE_IF_NEWER })
    redis.on('error', (error) => {
      this.connectionError = errorText(error)
    })
    redis.on('ready', () => {
      this.connectionError = null
      if (this.wasReady) this.onReconnect?.()
      this.wasReady = true
    })
  }

  /** Items whose latest row is not known to be written: queued, or in a write still under way. */
  get backlog(): number {
    let size = this.pending.size
    if (this.inFlight !== null) for (const key of this.inFlight.keys()) if (!this.pending.has(key)) size++
    return size
  }

  /** Queues the rows (latest per item wins) and tries to write everything queued. */
  async write(rows: readonly MetricsRow[]): Promise<boolean> {
    this.queue(rows)
    return this.flush()
  }

  /** Queues the rows (latest per item wins) without writing them yet. */
  queue(rows: readonly MetricsRow[]): void {
    for (const row of rows)
      this.pending.set(redisKey(row.sku, row.warehouseId), {
        fields: redisFields(row),
        expireAt: row.computedAt + this.ttlSeconds * 1000,
      })
  }

  /** One pipelined write per queued item; on failure the queue is kept for the next try. */
  async flush(): Promise<boolean> {
    try {
      await this.flushOrThrow()
      return true
    } catch {
      return false
    }
  }

  /** flush(), but throwing the failure (with its real cause) instead of returning false. */
  async flushOrThrow(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    this.inFlight = batch
    try {
      await this.writeHashes(batch)
    } catch (error) {
      // Newer rows queued meanwhile win over the ones that failed.
      for (const [key, hash] of batch) if (!this.pending.has(key)) this.pending.set(key, hash)
      throw error
    } finally {
      if (this.inFlight === batch) this.inFlight = null
    }
  }

  /** Writes hashes (only over older rows with onlyNewer); throws the failure's real cause. */
  async writeHashes(hashes: Map<string, PendingHash>): Promise<void> {
    if (hashes.size === 0) return
    try {
      await this.ready()
      const pipeline = this.redis.pipeline()
      if (this.options.onlyNewer) writeIfNewer(pipeline as unknown as RedisWithScript, [...hashes])
      else for (const [key, { fields }] of hashes) pipeline.hset(key, fields).expire(key, this.ttlSeconds)
      const results = await pipeline.exec()
      const failed = results?.find(([error]) => error !== null)
      if (failed) throw failed[0]
    } catch (error) {
      this.errors++
      this.lastError = this.explain(error)
      throw new Error(this.lastError)
    }
  }

  /** Rows as the hashes to write (for a rebuild), keyed like the queue. */
  hashesOf(rows: readonly MetricsRow[]): Map<string, PendingHash> {
    return new Map(
      rows.map((row) => [
        redisKey(row.sku, row.warehouseId),
        { fields: redisFields(row), expireAt: row.computedAt + this.ttlSeconds * 1000 },
      ]),
    )
  }

  /** PING: whether Redis answers now (throws the real cause when not). */
  async ping(): Promise<void> {
    try {
      await this.ready()
      await this.redis.ping()
    } catch (error) {
      this.lastError = this.explain(error)
      throw new Error(this.lastError)
    }
  }

  /** Connects once (lazily; concurrent callers share the attempt); fails at once while disconnected. */
  private async ready(): Promise<void> {
    if (this.redis.status === 'ready') return
    if (this.redis.status === 'wait') {
      this.connecting ??= this.redis.connect().finally(() => {
        this.connecting = null
      })
      await this.connecting
      return
    }
    if (this.connecting) {
      await this.connecting
      return
    }
    throw new Error(this.connectionError ?? `not connected (${this.redis.status})`)
  }

  /**
   * The real cause of a failed command: ioredis answers "Stream isn't writeable" or "Connection is
   * closed" while disconnected, whatever the reason (a refused connection, WRONGPASS).
   */
  private explain(error: unknown): string {
    const text = errorText(error)
    if (this.connectionError !== null && /isn't writeable|Connection is closed|not connected/.test(text))
      return this.connectionError
    return text
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}
