// `invpipe consume`: Kafka → core → PostgreSQL (one transaction per batch: metrics, daily history,
// item states, outboxes, offsets) → then Redis, the alert topic and Parquet files.
//
// PostgreSQL, not Kafka, holds the consumed offsets: on start-up and after every rebalance each
// partition's item states and position are read back from it, so a crash at any instant neither
// loses nor double-counts an event. Offsets are also committed to Kafka after each batch, only so
// that the usual lag tools see progress.
//
// Faults: a failed commit is retried every second from what PostgreSQL holds; Redis is written in
// the background and rebuilt from PostgreSQL (src/consume/redis-sync.ts); Parquet rows and alerts
// wait in their outboxes and are retried in the background; each outage is one warning and one
// line when it ends; the exit has a time limit and names every failure. README, "Reliability".
import {
  type Consumer,
  type EachBatchPayload,
  type Batch as KafkaBatch,
  KafkaJSError,
  type KafkaMessage,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs'
import type { Sql } from 'postgres'
import { RedisSync } from './consume/redis-sync.ts'
import type { CoreConfig } from './core/config.ts'
import { Engine } from './core/engine.ts'
import { Tally } from './core/tally.ts'
import { crashPoint } from './crash-points.ts'
import { ensureTopics, KafkaComplaints, type KafkaSettings, kafkaClient } from './kafka/client.ts'
import { errorText, log } from './log.ts'
import { Telemetry } from './observability.ts'
import { migrate } from './postgres/migrations.ts'
import { deadLetter, outgoingAlert, sendAlerts, sendDeadLetters } from './sinks/kafka.ts'
import { removeStaleTemporaryFiles } from './sinks/parquet.ts'
import { ParquetOutbox } from './sinks/parquet-outbox.ts'
import { FencedError, PostgresStore, type StoredAlert } from './sinks/postgres.ts'
import type { RedisMetricsSink } from './sinks/redis.ts'
import { parseMessage } from './sources/kafka.ts'

export interface ConsumeOptions {
  core: CoreConfig
  kafka: KafkaSettings
  topic: string
  groupId: string
  sessionTimeoutMs: number
  alertTopic: string
  dlqTopic: string
  batchSize: number
  sql: Sql
  redis: RedisMetricsSink
  outbox: { dataDir: string; rowsPerFile: number; maxWaitMs: number }
  /** Stop once the group has consumed the whole topic to its end. */
  drain: boolean
  instance: string
  now?: () => number
  /** Metrics and health (src/observability.ts); a private one when not given. */
  telemetry?: Telemetry
}

export interface ConsumeSummary {
  tally: Tally
  alertsSent: number
  deadLetters: number
  /** Dead letters too large for the topic, sent truncated. */
  truncatedDeadLetters: number
  batches: number
  parquetFiles: string[]
  seconds: number
  /** What the exit could not finish, one line each (Redis items stale, rows left in an outbox...). */
  failures: string[]
}

/** PostgreSQL refused the data itself (SQLSTATE class 22 data exception, 23 integrity violation). */
function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  // 21: cardinality (a statement touching a row twice: a bug here), 22: data, 23: constraints.
  return typeof code === 'string' && (code.startsWith('21') || code.startsWith('22') || code.startsWith('23'))
}

/** The offset a kafkajs batch was fetched from (on the Batch object, though not in its type). */
function fetchedOffset(batch: KafkaBatch): number {
  return Number((batch as unknown as { fetchedOffset: string }).fetchedOffset)
}

/** Rejects with `message` if the work takes longer than `ms` (the work itself goes on). */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** One assigned partition: its own engine (its items are its own) and the offset PostgreSQL holds. */
interface PartitionWork {
  engine: Engine
  /** Offset stored in PostgreSQL when we loaded or last committed (null: none yet). */
  committed: number | null
  /** When the position was last committed to Kafka (for lag tools only). */
  kafkaCommittedAt: number
}

const RETRY_AFTER_FAILURE_MS = 1_000
const PARTITIONS_IN_FLIGHT = 3
/** An alert still in the outbox this long after its commit was not sent by its instance. */
const UNSENT_ALERT_AGE_SECONDS = 30
/** Kafka's copy of the offsets only feeds lag monitoring: once a second is plenty. */
const KAFKA_COMMIT_INTERVAL_MS = 1_000
/** A temporary Parquet file untouched this long belongs to a writer that is gone. */
const STALE_TEMPORARY_MS = 10 * 60_000
/** Background work (Parquet by age and after failures, alerts after failures) is looked at this often. */
const MAINTENANCE_MS = 1_000
/** A failed Parquet drain or alert send is tried again after this long, with or without new batches. */
const FOLLOW_UP_RETRY_MS = 2_000
/** The --drain check: how often, and how long one check may take. */
const DRAIN_CHECK_MS = 500
const DRAIN_CHECK_TIMEOUT_MS = 15_000

export class ConsumePipeline {
  readonly tally = new Tally()
  alertsSent = 0
  deadLetters = 0
  truncatedDeadLetters = 0
  batches = 0
  private readonly store: PostgresStore
  private readonly outbox: ParquetOutbox
  private readonly now: () => number
  private readonly telemetry: Telemetry
  private readonly redisSync: RedisSync
  private readonly complaints: KafkaComplaints
  private partitions = new Map<number, PartitionWork>()
  private consumer: Consumer | null = null
  private producer: Producer | null = null
  private stopping = false
  /** A permanent failure that stopped the pipeline; run() rethrows it after the shutdown. */
  private failure: Error | null = null
  private lastResendAt = 0
  /** A send of alert messages failed: they wait in the outbox, and later ones must not overtake them. */
  private alertsBehind = false
  private lastAlertError: string | null = null
  /** Alert sends, one at a time (a batch's own and the re-sends of the outbox). */
  private alertChain: Promise<void> = Promise.resolve()
  private resending: Promise<void> | null = null
  private lastParquetTry = 0
  private maintenance: ReturnType<typeof setInterval> | null = null
  private readonly finished: Promise<void>
  private resolveFinished: () => void = () => {}

  constructor(private readonly options: ConsumeOptions) {
    this.store = new PostgresStore(options.sql, options.groupId)
    this.outbox = new ParquetOutbox(options.sql, { ...options.outbox, instance: options.instance })
    this.now = options.now ?? Date.now
    this.telemetry = options.telemetry ?? new Telemetry()
    this.redisSync = new RedisSync(options.redis, options.sql, this.telemetry, this.now)
    this.complaints = new KafkaComplaints(this.now)
    // A broker outage is one warning (kafkajs' connection errors), not one more per failed send.
    this.telemetry.coverOutages('kafka', () => this.complaints.active)
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve
    })
  }

  /**
   * Runs until stop() is called or, with drain, until caught up; then flushes everything (within
   * the session timeout). A failure to start is thrown; what the exit could not finish is listed in
   * the summary's `failures`.
   */
  async run(): Promise<ConsumeSummary> {
    const started = performance.now()
    let startFailed = false
    try {
      await this.start()
      await this.finished
    } catch (error) {
      // Could not start (a service down at start-up): one failure, no flushing of what never began.
      startFailed = true
      this.failure ??= error as Error
    }
    const failures = await this.shutdown(startFailed)
    if (this.failure !== null) throw this.failure
    return {
      tally: this.tally,
      alertsSent: this.alertsSent,
      deadLetters: this.deadLetters,
      truncatedDeadLetters: this.truncatedDeadLetters,
      batches: this.batches,
      parquetFiles: this.outbox.files,
      seconds: (performance.now() - started) / 1000,
      failures,
    }
  }

  private async start(): Promise<void> {
    const applied = await migrate(this.options.sql)
    if (applied.length > 0) log.info('schema migrated', { versions: applied })
    const stale = removeStaleTemporaryFiles(this.options.outbox.dataDir, STALE_TEMPORARY_MS, this.now())
    if (stale.length > 0) log.info('removed temporary files of crashed writers', { files: stale.length })
    // Redis first: the rows a crashed run could not write are rewritten from PostgreSQL meanwhile.
    this.redisSync.start()
    const kafka = kafkaClient(this.options.kafka, `invpipe-${this.options.instance}`, this.complaints.sink)
    await ensureTopics(kafka, [this.options.topic, this.options.alertTopic, this.options.dlqTopic])
    if (this.stopping) return
    // Not idempotent: alerts carry their own id and dead letters are at-least-once by design.
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await this.producer.connect()
    // Whatever a crashed run left unsent goes out first.
    await this.resendUnsentAlerts(0)
    if (this.stopping) return
    // The consumer's own client retries every call for as long as the broker is away (every 5 s at
    // most) instead of failing after about 20 s: a consumer that fails restarts as a new member, and
    // a new member gets no partitions until the old one's session has expired in the broker's group
    // (the session timeout, 30 s by default); the same member carries on at once.
    const consumerClient = kafkaClient(
      this.options.kafka,
      `invpipe-${this.options.instance}`,
      this.complaints.sink,
      Number.MAX_SAFE_INTEGER,
    )
    const consumer = consumerClient.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      // Short long-polls, so that a stop is not held up by an empty fetch.
      maxWaitTimeInMs: 1_000,
      heartbeatInterval: Math.min(3_000, this.options.sessionTimeoutMs / 3),
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
    })
    this.consumer = consumer
    this.telemetry.watchConsumer(consumer)
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      // After any rebalance every partition is read back from PostgreSQL before it is processed.
      this.partitions = new Map()
      this.complaints.recovered()
      log.info('partitions assigned', {
        topic: this.options.topic,
        partitions: event.payload.memberAssignment[this.options.topic] ?? [],
      })
    })
    consumer.on(consumer.events.FETCH, () => this.complaints.recovered())
    consumer.on(consumer.events.CRASH, (event) => {
      // kafkajs restarts the consumer after retriable errors; any other crash leaves it stopped.
      if (event.payload.restart) return
      this.failure ??= new Error(`kafka consumer stopped: ${errorText(event.payload.error)}`)
      log.error('kafka consumer stopped for good; stopping', { error: errorText(event.payload.error) })
      this.stop()
    })
    await consumer.connect()
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are independent (each has its own engine, offsets and fencing): while one waits
      // for PostgreSQL another can compute.
      partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
      eachBatch: (payload) => this.handleBatch(payload),
    })
    this.maintenance = setInterval(() => this.maintain(), MAINTENANCE_MS)
    if (this.options.drain) void this.watchForCaughtUp(kafka)
  }

  /** Finishes the batch in flight, then flushes and commits everything (SIGINT/SIGTERM). */
  stop(): void {
    if (this.stopping) return
    this.stopping = true
    this.resolveFinished()
  }

  /** Sleeps, but no longer than until stop(). */
  private pause(ms: number): Promise<void> {
    return Promise.race([Bun.sleep(ms), this.finished])
  }

  /**
   * The exit: consumer out of the group, unsent alerts, every waiting Parquet row, Redis, producer;
   * each step with a time limit and all within the session timeout, so that an outage cannot hold
   * the exit. Returns one line per step that failed (also logged).
   */
  private async shutdown(startFailed = false): Promise<string[]> {
    const budget = Math.max(5_000, this.options.sessionTimeoutMs - 1_000)
    const deadline = performance.now() + budget
    const failures: string[] = []
    /** Runs one step within `limitMs` (and what is left of the budget); `work` gets its time, to end in it. */
    const step = async (
      name: string,
      limitMs: number,
      work: (ms: number) => Promise<string | null | undefined>,
    ) => {
      const ms = Math.max(1_000, Math.min(limitMs, deadline - performance.now()))
      try {
        const problem = await withTimeout(work(ms), ms, `no answer within ${(ms / 1000).toFixed(1)} s`)
        if (typeof problem === 'string') failures.push(problem)
      } catch (error) {
        failures.push(`${name}: ${errorText(error)}`)
      }
    }
    this.stopping = true
    this.resolveFinished()
    if (this.maintenance !== null) clearInterval(this.maintenance)
    if (startFailed) {
      this.redisSync.stop()
      await withTimeout(
        Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect()]),
        3_000,
        'no answer',
      ).catch(() => {})
      return []
    }
    await step('kafka consumer', budget * 0.3, async () => {
      await this.consumer?.disconnect()
      return null
    })
    await step('alerts', budget * 0.2, () => this.finishAlerts())
    await step('parquet', budget * 0.4, () => this.finishParquet())
    // Redis gets its time minus a moment to count what it could not write.
    await step('redis', budget * 0.4, (ms) => this.redisSync.finish(this.now() + ms - 500))
    await step('kafka producer', 3_000, async () => {
      await this.producer?.disconnect()
      return null
    })
    for (const failure of failures) log.error(`at exit: ${failure}`)
    return failures
  }

  private async finishAlerts(): Promise<string | null> {
    if (this.producer === null) return null
    await this.resendUnsentAlerts(this.alertsBehind ? 0 : UNSENT_ALERT_AGE_SECONDS)
    if (!this.alertsBehind) return null
    const waiting = await this.store.unsentAlerts(0).then(
      (rows) => String(rows.length),
      () => 'some',
    )
    return `alerts: ${waiting} messages wait in the outbox (${this.lastAlertError ?? 'not sent'}); the next start sends them`
  }

  private async finishParquet(): Promise<string | null> {
    try {
      await this.telemetry.parquetDrain(() => this.outbox.drain(this.now(), true), { quiet: true })
      return null
    } catch (error) {
      const rows = await this.outbox.waitingRows().catch(() => null)
      return rows === null
        ? `parquet: the outbox could not be drained (${errorText(error)}); the rows waiting there are written by the next run`
        : `parquet: ${rows} rows wait in the outbox (${errorText(error)}); the next run writes them`
    }
  }

  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
    commitOffsetsIfNecessary,
  }: EachBatchPayload) {
    const partition = batch.partition
    let work: PartitionWork
    try {
      work = await this.partitionWork(partition)
    } catch (error) {
      // Not returned to kafkajs (it would back off ever longer): the same batch is fetched again.
      await this.failed(error, partition)
      return
    }
    const committed = work.committed
    const messages = batch.messages.filter((m) => committed === null || Number(m.offset) >= committed)
    const first = messages[0]
    if (committed !== null && (first === undefined || Number(first.offset) > committed)) {
      // Kafka's position differs from PostgreSQL's: behind it (Kafka's copy of the offsets lags) or
      // ahead of it. Either way go to PostgreSQL's, unless this fetch started there and the offsets
      // in between are simply absent (transaction markers, compaction).
      if (first === undefined || fetchedOffset(batch) !== committed) {
        this.consumer?.seek({ topic: batch.topic, partition, offset: String(committed) })
        return
      }
    }
    if (first === undefined) return
    for (let start = 0; start < messages.length; start += this.options.batchSize) {
      if (this.stopping || !isRunning() || isStale()) return
      const chunk = messages.slice(start, start + this.options.batchSize)
      if (!(await this.processChunk(batch, work, chunk))) return
      const last = chunk[chunk.length - 1] as KafkaMessage
      resolveOffset(last.offset)
      if (performance.now() - work.kafkaCommittedAt >= KAFKA_COMMIT_INTERVAL_MS) {
        work.kafkaCommittedAt = performance.now()
        await commitOffsetsIfNecessary({
          topics: [
            { topic: batch.topic, partitions: [{ partition, offset: String(Number(last.offset) + 1) }] },
          ],
        })
      }
      await heartbeat()
    }
  }

  /** A batch could not be read or committed: reported (once per outage), then retried after a second. */
  private async failed(error: unknown, partition: number): Promise<void> {
    const sink = error instanceof KafkaJSError ? 'kafka' : 'postgres'
    this.telemetry.sinkFailed(sink, error, { partition, retry: 'from the last commit, every second' })
    await this.pause(RETRY_AFTER_FAILURE_MS)
    this.telemetry.sinkRetry(sink)
  }

  private async partitionWork(partition: number): Promise<PartitionWork> {
    const known = this.partitions.get(partition)
    if (known !== undefined) return known
    const saved = await this.store.loadPartition(this.options.topic, partition)
    const engine = new Engine(this.options.core, { trackDaily: true })
    engine.restore(saved.states)
    const work = { engine, committed: saved.nextOffset, kafkaCommittedAt: 0 }
    this.partitions.set(partition, work)
    log.info('partition loaded', { partition, items: saved.states.length, next_offset: saved.nextOffset })
    return work
  }

  /** Processes and commits one chunk; false when it could not be committed (retried from PostgreSQL's state). */
  private async processChunk(
    batch: KafkaBatch,
    work: PartitionWork,
    chunk: KafkaMessage[],
  ): Promise<boolean> {
    const started = performance.now()
    const source = { topic: batch.topic, partition: batch.partition }
    const rejected: Message[] = []
    // Counted into the run's tally only once committed, so retried chunks are not counted twice.
    const tally = new Tally()
    for (const message of chunk) {
      const parsed = parseMessage(message)
      if (parsed.ok) tally.countOutcome(work.engine.process(parsed.event))
      else {
        tally.countRejection(parsed.rejection.code)
        rejected.push(deadLetter(source, message, parsed.rejection))
      }
    }
    const now = this.now()
    const result = work.engine.flush(now)
    const alerts = result.alerts.map((alert) => outgoingAlert(alert, now))
    const nextOffset = Number((chunk[chunk.length - 1] as KafkaMessage).offset) + 1
    const processed = performance.now()
    let outboxIds: number[]
    let truncated = 0
    try {
      // Dead letters go out before the commit: a crash in between re-sends them, never loses them.
      truncated = await sendDeadLetters(this.producer as Producer, this.options.dlqTopic, rejected)
      if (rejected.length > 0) this.telemetry.sinkOk('kafka')
      outboxIds = await this.store.commitBatch(
        { ...source, expectedOffset: work.committed, nextOffset },
        result,
        alerts,
      )
    } catch (error) {
      // The engine is now ahead of PostgreSQL: forget it and resume from what PostgreSQL holds.
      this.partitions.delete(batch.partition)
      if (error instanceof FencedError) log.warn(error.message)
      else if (isPermanent(error)) {
        // Retrying cannot help (the data itself is refused): stop loudly rather than loop for ever.
        this.failure = error as Error
        log.error('batch refused by PostgreSQL; stopping', {
          partition: batch.partition,
          error: errorText(error),
        })
        this.stop()
        return false
      } else await this.failed(error, batch.partition)
      this.consumer?.seek({
        topic: batch.topic,
        partition: batch.partition,
        offset: String(work.committed ?? chunk[0]?.offset),
      })
      return false
    }
    this.telemetry.sinkOk('postgres')
    crashPoint('after-commit')
    work.committed = nextOffset
    this.tally.add(tally)
    this.deadLetters += rejected.length
    this.truncatedDeadLetters += truncated
    this.batches++
    this.telemetry.batchCommitted(tally, rejected.length)
    this.telemetry.partitionCommitted(batch.partition, batch.highWatermark, nextOffset)
    const committed = performance.now()
    await this.afterCommit(
      result,
      alerts.map((alert, i) => ({ ...alert, outboxId: outboxIds[i] as number })),
      now,
    )
    this.telemetry.batchFinished((performance.now() - started) / 1000)
    log.debug('batch', {
      partition: batch.partition,
      events: chunk.length,
      rows: result.rows.length,
      process_ms: Math.round(processed - started),
      commit_ms: Math.round(committed - processed),
      after_commit_ms: Math.round(performance.now() - committed),
    })
    return true
  }

  /**
   * The stores that follow PostgreSQL: none of them can lose what is committed, and none holds the
   * batch up when it fails (Redis is written in the background, Parquet rows and alerts wait in
   * their outboxes and are retried).
   */
  private async afterCommit(
    result: ReturnType<Engine['flush']>,
    alerts: StoredAlert[],
    now: number,
  ): Promise<void> {
    this.redisSync.queue(result.rows)

    // An episode's messages must reach the topic in order: while earlier messages wait in the outbox
    // (a failed send), everything unsent goes out oldest first, this batch's included. (That may
    // repeat a message another instance is sending right now: the same bytes, the same message_id.)
    if (this.alertsBehind) await this.resendUnsentAlerts(0)
    else await this.sendAndMark(alerts)
    if (now - this.lastResendAt >= UNSENT_ALERT_AGE_SECONDS * 1000)
      await this.resendUnsentAlerts(UNSENT_ALERT_AGE_SECONDS)
    this.outbox.added(result.rows.length)
    await this.drainParquet(now)
  }

  /**
   * Drains the Parquet outbox when enough rows wait or the oldest is old enough; after a failure
   * (a full disk) every FOLLOW_UP_RETRY_MS. A failure is reported and the rows stay in the outbox.
   */
  private async drainParquet(now: number): Promise<void> {
    const failing = this.telemetry.failing('parquet')
    if (failing && now - this.lastParquetTry < FOLLOW_UP_RETRY_MS) return
    this.lastParquetTry = now
    try {
      await this.telemetry.parquetDrain(() => this.outbox.drain(now, false, failing))
    } catch {
      // Reported by parquetDrain (one warning per outage); tried again by maintain().
    }
  }

  /** Background follow-ups, with or without new batches: Parquet by age and after failures, unsent alerts. */
  private maintain(): void {
    if (this.stopping) return
    const now = this.now()
    // While PostgreSQL is down the outbox cannot be read: its outage is reported once, by the batches.
    if (!this.telemetry.failing('postgres')) void this.drainParquet(now)
    if (this.alertsBehind && now - this.lastResendAt >= FOLLOW_UP_RETRY_MS) void this.resendUnsentAlerts(0)
  }

  /** Sends alert messages and deletes them from the outbox; on failure they wait there (alertsBehind). */
  private sendAndMark(alerts: StoredAlert[]): Promise<void> {
    if (alerts.length === 0) return Promise.resolve()
    const send = async () => {
      try {
        await sendAlerts(this.producer as Producer, this.options.alertTopic, alerts)
        this.telemetry.sinkOk('kafka')
        this.alertsSent += alerts.length
        this.telemetry.alertsSent(alerts.length)
      } catch (error) {
        this.lastAlertError = errorText(error)
        this.telemetry.sinkFailed('kafka', error, { alerts: alerts.length, kept: 'in the alert outbox' })
        this.alertsBehind = true
        return
      }
      try {
        await this.store.markAlertsSent(alerts.map((a) => a.outboxId))
      } catch (error) {
        // Sent but still in the outbox: sent again later (the same bytes, the same message_id).
        this.lastAlertError = errorText(error)
        this.alertsBehind = true
      }
    }
    const run = this.alertChain.then(send)
    this.alertChain = run
    return run
  }

  /**
   * Sends what waits in the alert outbox (committed at least `olderThanSeconds` ago), oldest first.
   * One re-send at a time (a caller arriving meanwhile waits for it); never throws.
   */
  private resendUnsentAlerts(olderThanSeconds: number): Promise<void> {
    if (this.resending !== null) return this.resending
    const run = this.resendOnce(olderThanSeconds).finally(() => {
      this.resending = null
    })
    this.resending = run
    return run
  }

  private async resendOnce(olderThanSeconds: number): Promise<void> {
    this.lastResendAt = this.now()
    for (;;) {
      let unsent: StoredAlert[]
      try {
        unsent = await this.store.unsentAlerts(olderThanSeconds)
      } catch (error) {
        // PostgreSQL's outage is reported by the batches; the outbox is read again later.
        log.debug('alert outbox not readable now', { error: errorText(error) })
        return
      }
      if (unsent.length === 0) {
        if (olderThanSeconds === 0) this.alertsBehind = false
        return
      }
      this.telemetry.sinkRetry('kafka')
      const before = this.alertsSent
      await this.sendAndMark(unsent)
      if (this.alertsSent === before) return
    }
  }

  /**
   * --drain: stops once the group has consumed every partition of the topic to its end, as
   * PostgreSQL's offsets record it. Group-wide on purpose: an instance that looked only at its own
   * partitions could exit while a crashed member still held others that nobody had read. A check
   * that fails (Kafka or PostgreSQL away) is simply tried again: the watcher never gives up.
   */
  private async watchForCaughtUp(kafka: ReturnType<typeof kafkaClient>): Promise<void> {
    // Few retries per call: the loop itself retries, and an answer soon after an outage matters more.
    const admin = kafka.admin({ retry: { initialRetryTime: 200, maxRetryTime: 1_000, retries: 2 } })
    let connected = false
    let failures = 0
    while (!this.stopping) {
      await this.pause(DRAIN_CHECK_MS)
      if (this.stopping) break
      try {
        const check = async () => {
          if (!connected) {
            await admin.connect()
            connected = true
          }
          const ends = await admin.fetchTopicOffsets(this.options.topic)
          const stored = await this.store.storedOffsets(this.options.topic)
          return ends.every((end) => {
            const committed = stored.get(end.partition)
            return committed === undefined
              ? Number(end.high) === Number(end.low)
              : committed >= Number(end.high)
          })
        }
        const caughtUp = await withTimeout(check(), DRAIN_CHECK_TIMEOUT_MS, 'no answer')
        if (failures > 0) log.info('--drain: end-of-topic check working again', { failed_checks: failures })
        failures = 0
        if (caughtUp) {
          log.info('--drain: every partition consumed to its end; stopping')
          this.stop()
        }
      } catch (error) {
        // The service's outage is reported by the pipeline (one warning); this is its echo.
        failures++
        log.debug('--drain: end-of-topic check failed; retrying', { error: errorText(error), failures })
        if (connected) await admin.disconnect().catch(() => {})
        connected = false
      }
    }
    if (connected) await admin.disconnect().catch(() => {})
  }
}
