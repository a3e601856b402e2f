// Observability of `invpipe consume`: the Prometheus metrics (prom-client, a registry of our own) and
// the HTTP endpoint on METRICS_PORT that serves them with the readiness probe.
//
//   GET /metrics  Prometheus text format: invpipe_* metrics plus the process defaults
//   GET /healthz  200 {"status":"ok",...} while the consumer is in its group, PostgreSQL answered a
//                 `SELECT 1` recently and no sink (PostgreSQL commits, Redis, Parquet, the Kafka
//                 producer) is failing; 503 {"status":"unavailable","reasons":[...]} otherwise
//
// A sink's outage is logged once: a warning with the cause at its first failure, an info line with
// the number of failures and the duration when it works again (not one line per batch).
//
// The pipeline reports what happens through the small hooks of Telemetry; it knows nothing of HTTP.
import type { Consumer } from 'kafkajs'
import type { Sql } from 'postgres'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Tally } from './core/tally.ts'
import { errorText, log } from './log.ts'

export type Sink = 'postgres' | 'redis' | 'kafka' | 'parquet'
export const SINKS: readonly Sink[] = ['postgres', 'redis', 'kafka', 'parquet']

/** What each sink is for, in the outage messages. */
const SINK_ROLE: Record<Sink, string> = {
  postgres: 'PostgreSQL (batch commits)',
  redis: 'Redis (metrics hashes)',
  kafka: 'Kafka producer (alerts, dead letters)',
  parquet: 'Parquet files (metrics archive)',
}

/** A sink's state: working, or failing since a time with the last error. */
export interface SinkHealth {
  /** When the current run of failures began; null while the sink works. */
  failingSince: number | null
  /** Whether its beginning was logged (not when another report already covers the outage). */
  announced?: boolean
  /** Failures since then. */
  failures: number
  lastError: string | null
  lastOkAt: number | null
}

function workingSink(): SinkHealth {
  return { failingSince: null, failures: 0, lastError: null, lastOkAt: null }
}

/** What readiness is decided from (times are epoch milliseconds, null: never). */
export interface HealthState {
  kafka: {
    /** In the consumer group with partitions assigned (false while connecting, rebalancing, stopped). */
    joined: boolean
    /** Last sign of life from the consumer (join, heartbeat, fetch, batch). */
    lastSeenAt: number | null
  }
  postgres: {
    lastOkAt: number | null
    lastError: string | null
  }
  /** The writes: any sink failing makes the instance unavailable (its data wait, see README). */
  sinks?: Partial<Record<Sink, SinkHealth>>
}

export interface HealthLimits {
  /** The consumer must have shown life within this long (a silent member is evicted after the session timeout). */
  kafkaStaleMs: number
  /** The last successful `SELECT 1` must be at most this old. */
  postgresStaleMs: number
}

export const DEFAULT_HEALTH_LIMITS: HealthLimits = { kafkaStaleMs: 30_000, postgresStaleMs: 10_000 }

/** Ready only while connected to both Kafka and PostgreSQL and no sink fails; otherwise the reasons why not. */
export function readiness(
  state: HealthState,
  now: number,
  limits: HealthLimits = DEFAULT_HEALTH_LIMITS,
): { ready: boolean; reasons: string[] } {
  const reasons: string[] = []
  const { kafka, postgres } = state
  if (!kafka.joined) reasons.push('kafka: consumer not in its group')
  else if (kafka.lastSeenAt === null || now - kafka.lastSeenAt > limits.kafkaStaleMs)
    reasons.push(`kafka: no sign of life from the consumer for over ${limits.kafkaStaleMs} ms`)
  if (postgres.lastOkAt === null)
    reasons.push(`postgres: not reached yet${postgres.lastError ? ` (${postgres.lastError})` : ''}`)
  else if (now - postgres.lastOkAt > limits.postgresStaleMs)
    reasons.push(
      `postgres: no successful check for over ${limits.postgresStaleMs} ms${postgres.lastError ? ` (${postgres.lastError})` : ''}`,
    )
  for (const sink of SINKS) {
    const health = state.sinks?.[sink]
    if (health?.failingSince == null) continue
    const seconds = Math.max(0, Math.round((now - health.failingSince) / 1000))
    reasons.push(
      `${sink}: ${SINK_ROLE[sink]} failing for ${seconds} s (${health.failures} failures): ${health.lastError}`,
    )
  }
  return { ready: reasons.length === 0, reasons }
}

/** The registry, the metric objects and the health state of one consume process. */
export class Telemetry {
  readonly registry = new Registry()
  readonly health: HealthState & { sinks: Record<Sink, SinkHealth> } = {
    kafka: { joined: false, lastSeenAt: null },
    postgres: { lastOkAt: null, lastError: null },
    sinks: { postgres: workingSink(), redis: workingSink(), kafka: workingSink(), parquet: workingSink() },
  }
  private readonly consumed: Counter
  private readonly accepted: Counter
  private readonly rejected: Counter<'code'>
  private readonly duplicates: Counter
  private readonly latency: Histogram
  private readonly lag: Gauge<'partition'>
  private readonly sinkErrors: Counter<'sink'>
  private readonly sinkRetries: Counter<'sink'>
  private readonly alerts: Counter
  private readonly deadLetters: Counter
  private readonly parquetFiles: Counter
  private postgresProbe: ReturnType<typeof setInterval> | null = null
  private readonly coveredBy: Partial<Record<Sink, () => boolean>> = {}

  constructor(private readonly now: () => number = Date.now) {
    const registers = [this.registry]
    this.consumed = new Counter({
      name: 'invpipe_events_consumed_total',
      help: 'Kafka messages consumed and committed (accepted + rejected)',
      registers,
    })
    this.accepted = new Counter({
      name: 'invpipe_events_accepted_total',
      help: 'Events that passed validation (duplicates included)',
      registers,
    })
    this.rejected = new Counter({
      name: 'invpipe_events_rejected_total',
      help: 'Messages rejected by validation and dead-lettered, by rejection code',
      labelNames: ['code'],
      registers,
    })
    this.duplicates = new Counter({
      name: 'invpipe_events_duplicates_total',
      help: 'Accepted events ignored as duplicates of an event_id already seen',
      registers,
    })
    this.latency = new Histogram({
      name: 'invpipe_batch_duration_seconds',
      help: 'Time to process and commit one batch, its Redis, alert and Parquet follow-ups included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.lag = new Gauge({
      name: 'invpipe_consumer_lag',
      help: 'Messages not yet committed per assigned partition: high watermark - committed offset',
      labelNames: ['partition'],
      registers,
    })
    this.sinkErrors = new Counter({
      name: 'invpipe_sink_errors_total',
      help: 'Failed writes to a sink (postgres, redis, kafka, parquet)',
      labelNames: ['sink'],
      registers,
    })
    this.sinkRetries = new Counter({
      name: 'invpipe_sink_retries_total',
      help: 'Writes attempted again after a failure (postgres, redis, kafka, parquet)',
      labelNames: ['sink'],
      registers,
    })
    this.alerts = new Counter({
      name: 'invpipe_alerts_sent_total',
      help: 'Alerts sent to the alert topic (re-sends included)',
      registers,
    })
    this.deadLetters = new Counter({
      name: 'invpipe_dead_letters_sent_total',
      help: 'Rejected messages sent to the dead-letter topic (committed batches)',
      registers,
    })
    this.parquetFiles = new Counter({
      name: 'invpipe_parquet_files_written_total',
      help: 'Parquet files written from the metrics outbox',
      registers,
    })
    for (const sink of ['postgres', 'redis', 'kafka', 'parquet'] as const) {
      this.sinkErrors.inc({ sink }, 0)
      this.sinkRetries.inc({ sink }, 0)
    }
    collectDefaultMetrics({ register: this.registry, prefix: 'invpipe_' })
  }

  // --- hooks called by the pipeline ---

  /** A batch was committed to PostgreSQL with these counts and dead letters. */
  batchCommitted(tally: Tally, deadLetters: number): void {
    this.consumed.inc(tally.read)
    this.accepted.inc(tally.accepted)
    this.duplicates.inc(tally.duplicates)
    for (const [code, n] of Object.entries(tally.rejectedByCode)) this.rejected.inc({ code }, n ?? 0)
    this.deadLetters.inc(deadLetters)
  }

  /** A batch is done, follow-ups included. */
  batchFinished(seconds: number): void {
    this.latency.observe(seconds)
  }

  /** Where a partition stands after a commit. */
  partitionCommitted(partition: number, highWatermark: string | number, nextOffset: number): void {
    this.lag.set({ partition: String(partition) }, Math.max(0, Number(highWatermark) - nextOffset))
  }

  /** Counts a failed write without touching the sink's state (use sinkFailed for an outage). */
  sinkError(sink: Sink): void {
    this.sinkErrors.inc({ sink })
  }

  /**
   * A write to a sink failed: counted, and the first failure of an outage is logged as a warning
   * with its cause (the later ones at debug level only); /healthz reports the sink as failing.
   */
  sinkFailed(sink: Sink, error: unknown, fields: Record<string, unknown> = {}): void {
    this.sinkErrors.inc({ sink })
    const health = this.health.sinks[sink]
    const cause = typeof error === 'string' ? error : errorText(error)
    health.failures++
    health.lastError = cause
    if (health.failingSince === null) {
      health.failingSince = this.now()
      // The outage has its warning already (kafkajs' connection errors, say): this is its echo.
      health.announced = !(this.coveredBy[sink]?.() ?? false)
      if (!health.announced) {
        log.debug(`${sink}: ${SINK_ROLE[sink]} failing, will retry: ${cause}`, { sink, ...fields })
        return
      }
      log.warn(`${sink}: ${SINK_ROLE[sink]} failing, will retry: ${cause}`, {
        sink,
        ...fields,
        note: 'one line per outage; another when it works again',
      })
    } else log.debug(`${sink}: still failing`, { sink, failures: health.failures, error: cause })
  }

  /** A write to a sink worked: ends its outage, if any, with one line saying how long and how many failures. */
  sinkOk(sink: Sink, fields: Record<string, unknown> = {}): void {
    const health = this.health.sinks[sink]
    const now = this.now()
    health.lastOkAt = now
    if (health.failingSince === null) return
    const seconds = (now - health.failingSince) / 1000
    log[health.announced === false ? 'debug' : 'info'](
      `${sink}: ${SINK_ROLE[sink]} working again after ${seconds.toFixed(1)} s`,
      {
        sink,
        outage_seconds: Number(seconds.toFixed(3)),
        failures: health.failures,
        last_error: health.lastError,
        ...fields,
      },
    )
    health.failingSince = null
    health.failures = 0
    health.lastError = null
  }

  /** A sink's outages that `covered()` says are already reported elsewhere are logged at debug level only. */
  coverOutages(sink: Sink, covered: () => boolean): void {
    this.coveredBy[sink] = covered
  }

  /** Whether a sink is failing now. */
  failing(sink: Sink): boolean {
    return this.health.sinks[sink].failingSince !== null
  }

  sinkRetry(sink: Sink): void {
    this.sinkRetries.inc({ sink })
  }

  alertsSent(n: number): void {
    this.alerts.inc(n)
  }

  /** Runs an outbox drain, counting the files it writes, its failures and the drains that follow one. */
  async parquetDrain(drain: () => Promise<string[]>, { quiet = false } = {}): Promise<string[]> {
    if (this.failing('parquet')) this.sinkRetry('parquet')
    try {
      const files = await drain()
      this.sinkOk('parquet')
      this.parquetFiles.inc(files.length)
      return files
    } catch (error) {
      // quiet: the caller reports the failure itself (the exit's one line).
      if (quiet) this.sinkError('parquet')
      else this.sinkFailed('parquet', error)
      throw error
    }
  }

  /** Follows the consumer's life: in its group or not, and its partitions (for the lag gauge). */
  watchConsumer(consumer: Consumer): void {
    const { events } = consumer
    const seen = () => {
      this.health.kafka.lastSeenAt = this.now()
    }
    consumer.on(events.GROUP_JOIN, () => {
      this.health.kafka.joined = true
      seen()
      // Partitions given away are no longer ours to report.
      this.lag.reset()
    })
    consumer.on(events.HEARTBEAT, seen)
    consumer.on(events.FETCH, seen)
    consumer.on(events.END_BATCH_PROCESS, seen)
    for (const gone of [events.REBALANCING, events.CRASH, events.STOP, events.DISCONNECT]) {
      consumer.on(gone, () => {
        this.health.kafka.joined = false
      })
    }
  }

  /**
   * Checks PostgreSQL with `SELECT 1` now and then every intervalMs, in the background; a check
   * still waiting (a frozen server) is not joined by another, so checks never pile up on the pool.
   */
  watchPostgres(sql: Sql, intervalMs = 2_000): void {
    let busy = false
    const check = async () => {
      if (busy) return
      busy = true
      try {
        await sql`SELECT 1`
        this.health.postgres.lastOkAt = this.now()
        this.health.postgres.lastError = null
      } catch (error) {
        this.health.postgres.lastError = errorText(error)
      } finally {
        busy = false
      }
    }
    void check()
    this.postgresProbe = setInterval(check, intervalMs)
  }

  readiness(limits?: HealthLimits) {
    return readiness(this.health, this.now(), limits)
  }

  stop(): void {
    if (this.postgresProbe !== null) clearInterval(this.postgresProbe)
    this.postgresProbe = null
  }
}

/** Serves /healthz and /metrics. */
export function handleRequest(
  telemetry: Telemetry,
  request: Request,
  limits?: HealthLimits,
): Promise<Response> | Response {
  const path = new URL(request.url).pathname
  if (request.method !== 'GET' && request.method !== 'HEAD')
    return new Response('method not allowed\n', { status: 405 })
  if (path === '/healthz') {
    const { ready, reasons } = telemetry.readiness(limits)
    const { kafka, postgres, sinks } = telemetry.health
    const at = (t: number | null) => (t === null ? null : new Date(t).toISOString())
    const body = {
      status: ready ? 'ok' : 'unavailable',
      ...(ready ? {} : { reasons }),
      kafka: { joined: kafka.joined, last_seen_at: at(kafka.lastSeenAt) },
      postgres: { last_ok_at: at(postgres.lastOkAt) },
      sinks: Object.fromEntries(
        SINKS.map((sink) => {
          const health = sinks[sink]
          return [
            sink,
            health.failingSince === null
              ? { state: 'ok', last_ok_at: at(health.lastOkAt) }
              : {
                  state: 'failing',
                  since: at(health.failingSince),
                  failures: health.failures,
                  error: health.lastError,
                  last_ok_at: at(health.lastOkAt),
                },
          ]
        }),
      ),
    }
    return Response.json(body, { status: ready ? 200 : 503, headers: { 'cache-control': 'no-store' } })
  }
  if (path === '/metrics') {
    return telemetry.registry
      .metrics()
      .then((text) => new Response(text, { headers: { 'content-type': telemetry.registry.contentType } }))
  }
  return new Response('not found: try /healthz or /metrics\n', { status: 404 })
}

export interface MetricsServer {
  port: number
  stop(): Promise<void>
}

/**
 * Starts the endpoint on `port` (all interfaces). A port already in use is logged and the pipeline
 * runs on without it: the data matters more than the view of it.
 */
export function startMetricsServer(
  telemetry: Telemetry,
  port: number,
  limits?: HealthLimits,
): MetricsServer | null {
  try {
    const server = Bun.serve({ port, fetch: (request) => handleRequest(telemetry, request, limits) })
    log.info('metrics endpoint listening', { port: server.port, paths: ['/healthz', '/metrics'] })
    return { port: server.port ?? port, stop: () => server.stop(true) }
  } catch (error) {
    log.error('metrics endpoint not started', { port, error: String(error) })
    return null
  }
}
