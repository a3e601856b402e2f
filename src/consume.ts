// `invpipe consume`: Kafka → core → PostgreSQL (one transaction per batch: metrics, daily history,
// item states, outboxes, offsets) → then Redis, the alert topic and Parquet files.
//
// PostgreSQL, not Kafka, holds the consumed offsets: on start-up and after every rebalance each
// partition's item states and position are read back from it, so a crash at any instant neither
// loses nor double-counts an event. Offsets are also committed to Kafka after each batch, only so
// that the usual lag tools see progress.
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
import type { CoreConfig } from './core/config.ts'
import { Engine } from './core/engine.ts'
import { Tally } from './core/tally.ts'
import { crashPoint } from './crash-points.ts'
import { ensureTopics, type KafkaSettings, kafkaClient } from './kafka/client.ts'
import { log } from './log.ts'
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
  batches: number
  parquetFiles: string[]
  seconds: number
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

export class ConsumePipeline {
  readonly tally = new Tally()
  alertsSent = 0
  deadLetters = 0
  batches = 0
  private readonly store: PostgresStore
  private readonly outbox: ParquetOutbox
  private readonly now: () => number
  private readonly telemetry: Telemetry
  private partitions = new Map<number, PartitionWork>()
  private consumer: Consumer | null = null
  private producer: Producer | null = null
  private stopping = false
  /** A permanent failure that stopped the pipeline; run() rethrows it after the shutdown. */
  private failure: Error | null = null
  private lastResendAt = 0
  /** A send of alert messages failed: they wait in the outbox, and later ones must not overtake them. */
  private alertsBehind = false
  private finished: Promise<void> | null = null
  private resolveFinished: () => void = () => {}

  constructor(private readonly options: ConsumeOptions) {
    this.store = new PostgresStore(options.sql, options.groupId)
    this.outbox = new ParquetOutbox(options.sql, { ...options.outbox, instance: options.instance })
    this.now = options.now ?? Date.now
    this.telemetry = options.telemetry ?? new Telemetry()
  }

  /** Runs until stop() is called or, with drain, until caught up; then flushes everything. */
  async run(): Promise<ConsumeSummary> {
    const started = performance.now()
    const applied = await migrate(this.options.sql)
    if (applied.length > 0) log.info('schema migrated', { versions: applied })
    const stale = removeStaleTemporaryFiles(this.options.outbox.dataDir, STALE_TEMPORARY_MS, this.now())
    if (stale.length > 0) log.info('removed temporary files of crashed writers', { files: stale.length })
    const kafka = kafkaClient(this.options.kafka, `invpipe-${this.options.instance}`)
    await ensureTopics(kafka, [this.options.topic, this.options.alertTopic, this.options.dlqTopic])
    // Not idempotent: alerts carry their own id and dead letters are at-least-once by design.
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await this.producer.connect()
    // Whatever a crashed run left unsent goes out first.
    await this.resendUnsentAlerts(0)
    const consumer = kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      // Short long-polls, so that a stop is not held up by an empty fetch.
      maxWaitTimeInMs: 1_000,
      heartbeatInterval: Math.min(3_000, this.options.sessionTimeoutMs / 3),
    })
    this.consumer = consumer
    this.telemetry.watchConsumer(consumer)
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      // After any rebalance every partition is read back from PostgreSQL before it is processed.
      this.partitions = new Map()
      log.info('partitions assigned', {
        topic: this.options.topic,
        partitions: event.payload.memberAssignment[this.options.topic] ?? [],
      })
    })
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve
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
    if (this.options.drain) void this.watchForCaughtUp(kafka)
    await this.finished
    await this.shutdown()
    if (this.failure !== null) throw this.failure
    return {
      tally: this.tally,
      alertsSent: this.alertsSent,
      deadLetters: this.deadLetters,
      batches: this.batches,
      parquetFiles: this.outbox.files,
      seconds: (performance.now() - started) / 1000,
    }
  }

  /** Finishes the batch in flight, then flushes and commits everything (SIGINT/SIGTERM). */
  stop(): void {
    if (this.stopping) return
    this.stopping = true
    this.resolveFinished()
  }

  private async shutdown(): Promise<void> {
    await this.consumer?.disconnect()
    await this.resendUnsentAlerts(UNSENT_ALERT_AGE_SECONDS)
    await this.telemetry.parquetDrain(() => this.outbox.drain(this.now(), true))
    if (!(await this.options.redis.flush()))
      log.warn('redis: rows still unwritten at exit', { items: this.options.redis.backlog })
    await this.producer?.disconnect()
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
    const work = await this.partitionWork(partition)
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
    try {
      // Dead letters go out before the commit: a crash in between re-sends them, never loses them.
      await sendDeadLetters(this.producer as Producer, this.options.dlqTopic, rejected)
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
          error: String(error),
        })
        this.stop()
        return false
      } else {
        const sink = error instanceof KafkaJSError ? 'kafka' : 'postgres'
        this.telemetry.sinkError(sink)
        log.error('batch not committed; retrying from the last commit', {
          partition: batch.partition,
          error: String(error),
        })
        await Bun.sleep(RETRY_AFTER_FAILURE_MS)
        this.telemetry.sinkRetry(sink)
      }
      this.consumer?.seek({
        topic: batch.topic,
        partition: batch.partition,
        offset: String(work.committed ?? chunk[0]?.offset),
      })
      return false
    }
    crashPoint('after-commit')
    work.committed = nextOffset
    this.tally.add(tally)
    this.deadLetters += rejected.length
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

  /** The stores that follow PostgreSQL: none of them can lose what is committed. */
  private async afterCommit(
    result: ReturnType<Engine['flush']>,
    alerts: StoredAlert[],
    now: number,
  ): Promise<void> {
    if (this.options.redis.backlog > 0) this.telemetry.sinkRetry('redis')
    if (!(await this.options.redis.write(result.rows))) {
      this.telemetry.sinkError('redis')
      log.warn('redis write failed; will retry', {
        error: this.options.redis.lastError,
        backlog: this.options.redis.backlog,
      })
    }

    // An episode's messages must reach the topic in order: while earlier messages wait in the outbox
    // (a failed send), everything unsent goes out oldest first, this batch's included. (That may
    // repeat a message another instance is sending right now: the same bytes, the same message_id.)
    if (this.alertsBehind) await this.resendUnsentAlerts(0)
    else await this.sendAndMark(alerts)
    if (now - this.lastResendAt >= UNSENT_ALERT_AGE_SECONDS * 1000)
      await this.resendUnsentAlerts(UNSENT_ALERT_AGE_SECONDS)
    this.outbox.added(result.rows.length)
    await this.telemetry.parquetDrain(() => this.outbox.drain(now))
  }

  private async sendAndMark(alerts: StoredAlert[]): Promise<void> {
    if (alerts.length === 0) return
    try {
      await sendAlerts(this.producer as Producer, this.options.alertTopic, alerts)
      await this.store.markAlertsSent(alerts.map((a) => a.outboxId))
      this.alertsSent += alerts.length
      this.telemetry.alertsSent(alerts.length)
    } catch (error) {
      this.telemetry.sinkError(error instanceof KafkaJSError ? 'kafka' : 'postgres')
      // They stay in the outbox and are sent again (the same bytes, same message_id) within a minute, or at the next start or stop.
      log.error('alerts not sent; kept in the outbox', { alerts: alerts.length, error: String(error) })
      this.alertsBehind = true
    }
  }

  private async resendUnsentAlerts(olderThanSeconds: number): Promise<void> {
    this.lastResendAt = this.now()
    for (;;) {
      const unsent = await this.store.unsentAlerts(olderThanSeconds)
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
   * partitions could exit while a crashed member still held others that nobody had read.
   */
  private async watchForCaughtUp(kafka: ReturnType<typeof kafkaClient>): Promise<void> {
    const admin = kafka.admin()
    await admin.connect()
    try {
      while (!this.stopping) {
        await Bun.sleep(500)
        const ends = await admin.fetchTopicOffsets(this.options.topic)
        const stored = await this.store.storedOffsets(this.options.topic)
        const caughtUp = ends.every((end) => {
          const committed = stored.get(end.partition)
          return committed === undefined
            ? Number(end.high) === Number(end.low)
            : committed >= Number(end.high)
        })
        if (caughtUp) this.stop()
      }
    } finally {
      await admin.disconnect()
    }
  }
}
