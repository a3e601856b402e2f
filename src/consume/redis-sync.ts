// Redis for `consume`: written in the background, so that no batch ever waits for Redis, and kept
// equal to PostgreSQL across outages, crashes and restarts.
//
// PostgreSQL's analytics.processed_metrics holds every item's latest row, committed before Redis is
// written, so it is the durable copy of what Redis should hold: at start-up (a crashed run may have
// left rows unwritten) and whenever the connection comes back (Redis may have restarted empty or
// missed writes), every item is rewritten from it, chunk by chunk, in the background. Rows of new
// batches wait in memory (latest per item) and are written as soon as Redis answers. Every write is
// conditional (WRITE_IF_NEWER in src/sinks/redis.ts): a hash is never replaced by an older row, so
// the rebuild and the live writes can run side by side, and several instances too.
import type { Sql } from 'postgres'
import { type MetricsRecord, type MetricsRow, metricsRowFromRecord } from '../core/rows.ts'
import { errorText, log } from '../log.ts'
import type { Telemetry } from '../observability.ts'
import type { RedisMetricsSink } from '../sinks/redis.ts'

/** Rows read from PostgreSQL per rebuild step. */
const REBUILD_CHUNK = 2_000
/** While Redis fails, it is tried again this often (each try waits at most the command timeout). */
const RETRY_MS = 1_000
/** While idle, Redis is pinged this often, so that /healthz follows it without any writes. */
const PING_MS = 2_000

interface Rebuild {
  /** The last item rewritten (keyset pagination over processed_metrics' key); null: from the start. */
  after: [string, string] | null
  written: number
  /** Why: every start does one; a reconnect after an outage means hashes may really be stale. */
  reason: 'start' | 'reconnect'
}

export class RedisSync {
  private rebuild: Rebuild | null = { after: null, written: 0, reason: 'start' }
  private running: Promise<void> | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private lastAttemptAt = 0
  private lastOkAt = 0
  private closed = false

  constructor(
    private readonly sink: RedisMetricsSink,
    private readonly sql: Sql,
    private readonly telemetry: Telemetry,
    private readonly now: () => number = Date.now,
  ) {
    sink.onReconnect = () => {
      this.rebuild = { after: null, written: 0, reason: 'reconnect' }
      log.info('redis: connection back; rewriting every item from PostgreSQL')
      this.kick(true)
    }
  }

  /** Starts the background writer (and the start-up rebuild). */
  start(): void {
    this.timer = setInterval(() => this.kick(), RETRY_MS / 2)
    this.kick()
  }

  /** A committed batch's rows: queued, and written in the background. */
  queue(rows: readonly MetricsRow[]): void {
    if (rows.length === 0) return
    this.sink.queue(rows)
    this.kick()
  }

  /** Items whose latest row Redis may not hold yet. */
  get waiting(): number {
    return this.sink.backlog
  }

  private kick(force = false): void {
    if (this.running !== null || this.closed) return
    const now = this.now()
    const failing = this.telemetry.failing('redis')
    if (!force && failing && now - this.lastAttemptAt < RETRY_MS) return
    const idle = this.sink.backlog === 0 && this.rebuild === null
    if (!force && !failing && idle && now - this.lastOkAt < PING_MS) return
    this.running = this.step(now + RETRY_MS).finally(() => {
      this.running = null
    })
  }

  /** One round: the queued rows, some of the rebuild, or a PING; failures end the round. */
  private async step(until: number): Promise<void> {
    this.lastAttemptAt = this.now()
    try {
      let wrote = false
      do {
        if (this.sink.backlog > 0) {
          await this.sink.flushOrThrow()
          wrote = true
        }
        if (this.rebuild !== null) {
          const written = await this.rebuildChunk()
          if (written < 0) break
          if (written > 0) wrote = true
        }
      } while ((this.sink.backlog > 0 || this.rebuild !== null) && this.now() < until)
      if (!wrote) await this.sink.ping()
      this.lastOkAt = this.now()
      this.telemetry.sinkOk('redis')
    } catch (error) {
      this.telemetry.sinkFailed('redis', error, { waiting_items: this.sink.backlog })
    }
  }

  /**
   * Rewrites the next chunk of items from PostgreSQL and returns how many; -1 when PostgreSQL could
   * not be read (its outage is the pipeline's to report; the rebuild waits for it). Redis failures
   * are thrown.
   */
  private async rebuildChunk(): Promise<number> {
    const rebuild = this.rebuild as Rebuild
    let rows: MetricsRow[]
    try {
      rows = await this.readRows(rebuild.after, REBUILD_CHUNK)
    } catch (error) {
      log.debug('redis rebuild: PostgreSQL not readable now', { error: errorText(error) })
      return -1
    }
    await this.sink.writeHashes(this.sink.hashesOf(rows))
    if (this.rebuild !== rebuild) return rows.length // a reconnect restarted it meanwhile
    rebuild.written += rows.length
    const last = rows[rows.length - 1]
    if (rows.length < REBUILD_CHUNK || last === undefined) {
      this.rebuild = null
      log.info('redis: every item rewritten from PostgreSQL', {
        items: rebuild.written,
        reason: rebuild.reason,
      })
    } else rebuild.after = [last.sku, last.warehouseId]
    return rows.length
  }

  private async readRows(after: [string, string] | null, limit: number): Promise<MetricsRow[]> {
    const rows =
      after === null
        ? await this.sql<{ row: MetricsRecord }[]>`
            SELECT to_jsonb(p) AS row FROM analytics.processed_metrics p
            ORDER BY p.sku, p.warehouse_id LIMIT ${limit}`
        : await this.sql<{ row: MetricsRecord }[]>`
            SELECT to_jsonb(p) AS row FROM analytics.processed_metrics p
            WHERE (p.sku, p.warehouse_id) > (${after[0]}, ${after[1]})
            ORDER BY p.sku, p.warehouse_id LIMIT ${limit}`
    return rows.map((r) => metricsRowFromRecord(r.row))
  }

  /** Stops the background writer without a last flush (a run that never got going). */
  stop(): void {
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
  }

  /**
   * At exit: writes what waits (and finishes the rebuild) until `deadline`. Returns null when Redis
   * holds every row, else one line saying how many items may be stale and why.
   */
  async finish(deadline: number): Promise<string | null> {
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    /** Waits for the work, but not past the deadline (a frozen Redis answers nothing): true if it ended. */
    const inTime = async (work: Promise<unknown>) => {
      const late = Symbol()
      let timer: ReturnType<typeof setTimeout> | undefined
      const limit = new Promise<symbol>((resolve) => {
        timer = setTimeout(() => resolve(late), Math.max(0, deadline - this.now()))
      })
      const result = await Promise.race([work, limit]).finally(() => clearTimeout(timer))
      return result !== late
    }
    let cause: string | null = null
    if (this.running !== null && !(await inTime(this.running))) cause = this.sink.lastError ?? 'no answer'
    // A Redis that is down is tried three times, not until the deadline: the exit says what waits.
    let failures = 0
    while (cause === null || failures > 0) {
      const done = this.sink.backlog === 0 && this.rebuild === null
      if (done || this.now() >= deadline) break
      let failed: unknown = null
      const attempt = (async () => {
        await this.sink.flushOrThrow()
        if (this.rebuild !== null && (await this.rebuildChunk()) < 0)
          throw new Error('PostgreSQL not readable for the rebuild')
      })().catch((error) => {
        failed = error
      })
      if (!(await inTime(attempt))) {
        cause = this.sink.lastError ?? 'no answer before the time limit'
        break
      }
      if (failed === null) {
        cause = null
        failures = 0
        continue
      }
      cause = errorText(failed)
      if (++failures >= 3) break
      await Bun.sleep(Math.min(RETRY_MS, Math.max(0, deadline - this.now())))
    }
    if (this.sink.backlog === 0 && this.rebuild === null) return null
    // A rebuild every start makes, cut short by the time limit while Redis works: nothing is known
    // to be stale, and the next start does it again.
    if (cause === null && this.sink.backlog === 0 && this.rebuild?.reason === 'start') {
      log.info('redis: start-up rewrite from PostgreSQL not finished; the next start does it again', {
        items_rewritten: this.rebuild.written,
      })
      return null
    }
    const stale = await this.staleCount()
    return `redis: ${stale} items not written (${cause ?? 'time limit reached'}); PostgreSQL holds their rows and the next start rewrites them`
  }

  /** How many items may be stale: those the rebuild has not reached yet, plus those queued. */
  private async staleCount(): Promise<string> {
    const rebuild = this.rebuild
    if (rebuild === null) return String(this.sink.backlog)
    try {
      const [row] =
        rebuild.after === null
          ? await this.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM analytics.processed_metrics`
          : await this.sql<{ n: number }[]>`
              SELECT count(*)::int AS n FROM analytics.processed_metrics
              WHERE (sku, warehouse_id) > (${rebuild.after[0]}, ${rebuild.after[1]})`
      const remaining = row?.n ?? 0
      return rebuild.after === null ? String(remaining) : `up to ${remaining + this.sink.backlog}`
    } catch {
      return this.sink.backlog > 0 ? `${this.sink.backlog} or more` : 'an unknown number of'
    }
  }
}
