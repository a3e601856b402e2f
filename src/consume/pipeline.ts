// `invpipe consume`: Kafka → core → PostgreSQL (one transaction per COMMIT_INTERVAL_MS and
// partition, holding one or more whole batches: metrics, daily history, day closes, item states,
// outboxes, offsets) → then Redis, the alert topic and Parquet files.
//
// PostgreSQL, not Kafka, holds the consumed offsets: on start-up and after every rebalance each
// partition's item states and position are read back from it, so a crash at any instant neither
// loses nor double-counts an event (batches processed but not yet committed are simply processed
// again). Offsets are also committed to Kafka after commits, only so that the usual lag tools see
// progress.
//
// Faults: a failed commit is retried every second from what PostgreSQL holds; Redis is written in
// the background and rebuilt from PostgreSQL (redis-sync.ts); Parquet rows and alerts wait in their
// outboxes and are retried in the background (alert-relay.ts); each outage is one warning and one
// line when it ends; the exit has a time limit and names every failure. README, "Reliability".
import {
  type Consumer,
  type EachBatchPayload,
  type Batch as KafkaBatch,
  type KafkaMessage,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs'
import type { Sql } from 'postgres'
import type { CoreConfig } from '../core/config.ts'
import { Engine } from '../core/engine.ts'
import { intake } from '../core/intake.ts'
import type { MetricsRow } from '../core/rows.ts'
import { Tally } from '../core/tally.ts'
import { crashPoint } from '../crash-points.ts'
import { ensureTopics, KafkaComplaints, type KafkaSettings, kafkaClient } from '../kafka/client.ts'
import { errorText, log } from '../log.ts'
import { Telemetry } from '../observability.ts'
import { CONSUME_SESSION, isSessionLost } from '../postgres/connect.ts'
import { migrate } from '../postgres/migrations.ts'
import { deadLetter, outgoingAlert, sendDeadLetters } from '../sinks/kafka.ts'
import { removeStaleTemporaryFiles } from '../sinks/parquet.ts'
import { ParquetOutbox } from '../sinks/parquet-outbox.ts'
import { FencedError, PostgresStore } from '../sinks/postgres.ts'
import type { RedisMetricsSink } from '../sinks/redis.ts'
import { parseMessage } from '../sources/kafka.ts'
import { AlertRelay } from './alert-relay.ts'
import { Doubts } from './doubts.ts'
import { watchForCaughtUp } from './drain.ts'
import {
  failedSink,
  isLockTimeout,
  isPermanent,
  retryIfSessionLost,
  TimeLimitError,
  withTimeout,
} from './failures.ts'
import { PartitionWork } from './partition.ts'
import type { PendingCommit } from './pending-commit.ts'
import { batchesOf, fetchedOffset, planFetch } from './positions.ts'
import { RedisSync } from './redis-sync.ts'

export interface ConsumeOptions {
  core: CoreConfig
  kafka: KafkaSettings
  topic: string
  groupId: string
  sessionTimeoutMs: number
  alertTopic: string
  dlqTopic: string
  batchSize: number
  /** The longest time between two PostgreSQL commits of a partition (0: a commit after every batch). */
  commitIntervalMs: number
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
  /** Processed-metrics rows committed (each goes to exactly one Parquet file). */
  rows: number
  /** PostgreSQL commits. */
  commits: number
  parquetFiles: string[]
  seconds: number
  /** What the exit could not finish, one line each (Redis items stale, rows left in an outbox...). */
  failures: string[]
}

const RETRY_AFTER_FAILURE_MS = 1_000
const PARTITIONS_IN_FLIGHT = 3
/** Kafka's copy of the offsets only feeds lag monitoring: once a second is plenty. */
const KAFKA_COMMIT_INTERVAL_MS = 1_000
/** A temporary Parquet file untouched this long belongs to a writer that is gone. */
const STALE_TEMPORARY_MS = 10 * 60_000
/** Background work (Parquet by age and after failures, alerts after failures) is looked at this often. */
const MAINTENANCE_MS = 1_000
/** How long a stop waits for a start still under way (a healthy start takes about a second). */
const START_GRACE_MS = 2_000
/** A failed Parquet drain or alert send is tried again after this long, with or without new batches. */
const FOLLOW_UP_RETRY_MS = 2_000
/**
 * A commit holds at most COMMIT_INTERVAL_MS of batches and takes well under a second here; one not
 * settled after this long was lost by the driver or the network (a query that never settles would
 * hold the partition for good), and is taken as failed, its outcome in doubt. If PostgreSQL still
 * stores it later, the re-read partition's next commit is fenced by the offset check and the
 * partition read again, which settles it (settleDoubt).
 */
const COMMIT_LIMIT_MS = 2 * CONSUME_SESSION.statement_timeout + CONSUME_SESSION.lock_timeout
/** A session waited on mid-message this long is stalled: as long as PostgreSQL gives one idle in a transaction. */
const STALLED_SESSION_SECONDS = CONSUME_SESSION.idle_in_transaction_session_timeout / 1000

export class ConsumePipeline {
  readonly tally = new Tally()
  deadLetters = 0
  truncatedDeadLetters = 0
  batches = 0
  rows = 0
  commits = 0
  private readonly store: PostgresStore
  private readonly outbox: ParquetOutbox
  private readonly alerts: AlertRelay
  private readonly now: () => number
  private readonly telemetry: Telemetry
  private readonly redisSync: RedisSync
  private readonly complaints: KafkaComplaints
  private partitions = new Map<number, PartitionWork>()
  /** Commits that failed without a sure outcome: PostgreSQL may hold them after all (doubts.ts). */
  private readonly doubts = new Doubts()
  private consumer: Consumer | null = null
  /**
   * The client of the look-ups of where a partition begins: its complaints are debug lines, since a
   * failed look-up is retried by the partition's next fetch (and an outage is already one warning).
   */
  private lookups: ReturnType<typeof kafkaClient> | null = null
  /** Partitions being loaded from PostgreSQL (since the last assignment). */
  private loading = new Map<number, Promise<PartitionWork>>()
  /** Offset ranges the broker deleted before they were read, for the exit. */
  private readonly unread: string[] = []
  private producer: Producer | null = null
  private stopping = false
  /** A permanent failure that stopped the pipeline; run() rethrows it after the shutdown. */
  private failure: Error | null = null
  private lastParquetTry = 0
  private maintenance: ReturnType<typeof setInterval> | null = null
  private readonly finished: Promise<void>
  private resolveFinished: () => void = () => {}
  /**
   * Settles when a commit reaches its partition's end as last fetched, and is renewed: --drain
   * checks at once.
   */
  private atPartitionEnd = Promise.withResolvers<void>()

  constructor(private readonly options: ConsumeOptions) {
    this.store = new PostgresStore(options.sql, options.groupId, options.outbox.rowsPerFile)
    this.outbox = new ParquetOutbox(options.sql, { ...options.outbox, instance: options.instance })
    this.now = options.now ?? Date.now
    this.telemetry = options.telemetry ?? new Telemetry()
    this.alerts = new AlertRelay(
      () => this.producer,
      options.alertTopic,
      this.store,
      this.telemetry,
      this.now,
    )
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
      await this.startUnlessStopped()
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
      alertsSent: this.alerts.sent,
      deadLetters: this.deadLetters,
      truncatedDeadLetters: this.truncatedDeadLetters,
      batches: this.batches,
      rows: this.rows,
      commits: this.commits,
      parquetFiles: this.outbox.files,
      seconds: (performance.now() - started) / 1000,
      failures,
    }
  }

  /**
   * start(), but a stop (Ctrl-C) while it waits for a service that does not answer ends the wait
   * after START_GRACE_MS, as a start that failed: the client libraries' retries would otherwise hold
   * the exit for as long as ~20 s. A start that finishes within the grace stops as usual.
   */
  private async startUnlessStopped(): Promise<void> {
    const starting = this.start()
    starting.catch(() => {}) // once given up, its failure is no news
    const stoppedFirst = await Promise.race([starting.then(() => false), this.finished.then(() => true)])
    if (!stoppedFirst) return
    const done = await Promise.race([starting.then(() => true), Bun.sleep(START_GRACE_MS).then(() => false)])
    if (done) return
    const waitingFor = this.complaints.problem === null ? '' : ` (kafka: ${this.complaints.problem})`
    throw new Error(`stopped while starting: a service did not answer${waitingFor}`)
  }

  private async start(): Promise<void> {
    // A session ended during the migrations (they roll back) is no reason not to start.
    const applied = await retryIfSessionLost(() => migrate(this.options.sql))
    if (applied.length > 0) log.info('schema migrated', { versions: applied })
    await this.alerts.sweepAlertLog()
    const stale = removeStaleTemporaryFiles(this.options.outbox.dataDir, STALE_TEMPORARY_MS, this.now())
    if (stale.length > 0) log.info('removed temporary files of crashed writers', { files: stale.length })
    // Redis first: the rows a crashed run could not write are rewritten from PostgreSQL meanwhile.
    this.redisSync.start()
    const kafka = kafkaClient(this.options.kafka, `invpipe-${this.options.instance}`, this.complaints.sink)
    this.lookups = kafkaClient(this.options.kafka, `invpipe-${this.options.instance}`, (_, message, fields) =>
      log.debug(`kafka: ${message}`, fields),
    )
    await ensureTopics(kafka, [this.options.topic, this.options.alertTopic, this.options.dlqTopic])
    if (this.stopping) return
    // Not idempotent: alerts carry their own id and dead letters are at-least-once by design.
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await this.producer.connect()
    // Whatever a crashed run left unsent goes out first.
    await this.alerts.resendUnsent(0)
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
      // After any rebalance every partition is read back from PostgreSQL before it is processed
      // (batches processed but not committed are processed again, by whoever has the partition now).
      for (const work of this.partitions.values()) work.clearTimer()
      this.partitions = new Map()
      this.doubts.forgetAll()
      this.complaints.recovered()
      const partitions = event.payload.memberAssignment[this.options.topic] ?? []
      log.info('partitions assigned', { topic: this.options.topic, partitions })
      this.loading = new Map()
      void this.placeAssigned(partitions)
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
    if (this.options.drain)
      void watchForCaughtUp({
        kafka,
        topic: this.options.topic,
        storedOffsets: (topic) => this.store.storedOffsets(topic),
        stopping: () => this.stopping,
        pause: (ms) => Promise.race([this.pause(ms), this.atPartitionEnd.promise]),
        caughtUp: () => this.stop(),
      })
  }

  /** Finishes the batch in flight, then commits, flushes and stops (SIGINT/SIGTERM). */
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
   * The exit: the batches processed are committed, then the consumer leaves the group while the
   * unsent alerts, every waiting Parquet row and Redis are written out, then the producer; each
   * step with a time limit and all within the session timeout, so that an outage cannot hold the
   * exit. Returns one line per step that failed (also logged).
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
      const started = performance.now()
      try {
        const problem = await withTimeout(work(ms), ms, `no answer within ${(ms / 1000).toFixed(1)} s`)
        if (typeof problem === 'string') failures.push(problem)
      } catch (error) {
        failures.push(`${name}: ${errorText(error)}`)
      }
      log.debug('exit step', { step: name, ms: Math.round(performance.now() - started) })
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
    // Committed before leaving the group, so that whoever takes the partitions resumes after them.
    // Not a failure when it cannot be done: the batches are processed again by the next run.
    await step('commit', budget * 0.2, () => this.commitEverything())
    // Leaving the group (up to a long poll's wait) and writing out what was committed need nothing
    // of each other, so they run side by side.
    const leaving = step('kafka consumer', budget * 0.3, async () => {
      await this.consumer?.disconnect()
      return null
    })
    await step('alerts', budget * 0.2, () => this.alerts.finish())
    await step('parquet', budget * 0.4, () => this.finishParquet())
    // Redis gets its time minus a moment to count what it could not write.
    await step('redis', budget * 0.4, (ms) => this.redisSync.finish(this.now() + ms - 500))
    await leaving
    await step('kafka producer', 3_000, async () => {
      await this.producer?.disconnect()
      return null
    })
    failures.push(...this.unread)
    for (const failure of failures) log.error(`at exit: ${failure}`)
    return failures
  }

  /** Commits what every partition has processed (at exit); never throws. */
  private async commitEverything(): Promise<null> {
    const works = [...this.partitions.values()]
    await Promise.all(works.map((work) => work.run(() => this.commit(work, false))))
    // Commits still in doubt (no load since): looked up, so that Redis gets those stored.
    for (const partition of this.doubts.partitions)
      this.settleDoubt(
        partition,
        await this.store.storedOffset(this.options.topic, partition).catch(() => null),
      )
    return null
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
    } finally {
      this.outbox.close()
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    if (this.stopping) return
    let work: PartitionWork
    try {
      work = await this.partitionWork(payload.batch.partition)
    } catch (error) {
      // Not returned to kafkajs (it would back off ever longer): the same batch is fetched again.
      await this.failed(error, payload.batch.partition)
      return
    }
    await work.run(() => this.processFetch(work, payload))
  }

  /** Processes a fetch batch by batch, committing whenever COMMIT_INTERVAL_MS has passed. */
  private async processFetch(work: PartitionWork, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload
    if (this.partitions.get(work.partition) !== work) return
    let plan = planFetch(work.position, batch.messages, fetchedOffset(batch))
    // A fetch that starts past the engine's position: Kafka's copy of the offsets is ahead, or the
    // broker deleted what lay between (kafkajs then resets to the partition's beginning).
    if (plan.action === 'seek' && fetchedOffset(batch) > plan.offset && (await this.skippedDeleted(work)))
      plan = planFetch(work.position, batch.messages, fetchedOffset(batch))
    if (plan.action === 'seek') {
      this.consumer?.seek({ topic: batch.topic, partition: work.partition, offset: String(plan.offset) })
      return
    }
    if (plan.action === 'skip') return
    for (const messages of batchesOf(plan.messages, this.options.batchSize)) {
      if (this.stopping || !isRunning() || isStale()) return
      this.processBatch(work, batch, messages)
      crashPoint('batch-processed')
      resolveOffset((messages[messages.length - 1] as KafkaMessage).offset)
      if (work.due(this.now(), this.options.commitIntervalMs)) {
        // One commit under way at a time: this one starts once the one before has succeeded.
        if (work.committing !== null && !(await work.committing)) return
        void this.commit(work)
      }
      await heartbeat()
    }
    // Caught up with the partition: nothing more is coming soon, so no reason to wait.
    const caughtUp = (work.position ?? 0) >= Number(batch.highWatermark)
    if (caughtUp) await this.commit(work)
    else this.commitLater(work)
  }

  /** Runs one batch through the engine and adds it to the partition's pending commit. */
  private processBatch(work: PartitionWork, batch: KafkaBatch, messages: KafkaMessage[]): void {
    const started = performance.now()
    const source = { topic: batch.topic, partition: batch.partition }
    const letters: Message[] = []
    const tally = new Tally()
    for (const message of messages) {
      const outcome = intake(work.engine, tally, parseMessage(message))
      if (outcome !== 'applied' && outcome !== 'duplicate') letters.push(deadLetter(source, message, outcome))
    }
    const now = this.now()
    const result = work.engine.flush(now)
    const pending = work.pendingFrom(Number((messages[0] as KafkaMessage).offset), now)
    const nextOffset = Number((messages[messages.length - 1] as KafkaMessage).offset) + 1
    pending.add(
      result,
      result.alerts.map((alert) => outgoingAlert(alert, now)),
      letters,
      tally,
      nextOffset,
    )
    pending.highWatermark = batch.highWatermark
    this.telemetry.batchFinished((performance.now() - started) / 1000)
  }

  /** Sets the commit timer of the pending batches, so that they are committed in time without more events. */
  private commitLater(work: PartitionWork): void {
    if (work.timer !== null || work.pending === null) return
    work.timer = setTimeout(
      () => {
        work.timer = null
        if (this.partitions.get(work.partition) === work && !this.stopping)
          void work.run(() => this.commit(work))
      },
      work.dueIn(this.now(), this.options.commitIntervalMs),
    )
  }

  /**
   * The commit step: the pending batches are serialised at once (the next batches may be processed
   * meanwhile), then, once the commit before has succeeded, their dead letters are sent, one
   * PostgreSQL transaction runs, and the stores that follow it are fed. Resolves false when it
   * could not be committed (the partition is re-read from what PostgreSQL holds); `retry`: wait a
   * second after a failure before the partition is read again.
   */
  private commit(work: PartitionWork, retry = true): Promise<boolean> {
    work.clearTimer()
    const previous = work.committing
    const taken = this.partitions.get(work.partition) === work ? work.takePending() : null
    if (taken === null) return previous ?? Promise.resolve(true)
    const { pending, expectedOffset } = taken
    const content = pending.content()
    const transaction = this.store.prepareCommit(
      {
        topic: this.options.topic,
        partition: work.partition,
        expectedOffset,
        nextOffset: pending.nextOffset,
      },
      content,
      pending.alerts,
    )
    const run = (async () => {
      // A commit whose predecessor failed is dropped with it: the partition is read again.
      if (previous !== null && !(await previous)) return false
      const started = performance.now()
      let outboxIds: number[]
      let truncated: number
      try {
        // Dead letters go out before the commit: a crash in between re-sends them, never loses them.
        truncated = await sendDeadLetters(
          this.producer as Producer,
          this.options.dlqTopic,
          pending.deadLetters,
        )
        if (pending.deadLetters.length > 0) this.telemetry.sinkOk('kafka')
        outboxIds = await withTimeout(
          transaction(),
          COMMIT_LIMIT_MS,
          `commit: no answer from PostgreSQL within ${COMMIT_LIMIT_MS / 1000} s`,
        )
      } catch (error) {
        await this.commitFailed(work, pending, content.rows, error, retry)
        return false
      }
      this.telemetry.sinkOk('postgres')
      crashPoint('after-commit')
      // A commit of this partition went through: an earlier one in doubt can no longer (the offset
      // check fences it), or it did and the load before this one settled it.
      this.doubts.ruledOut(work.partition)
      work.committed = pending.nextOffset
      if (pending.nextOffset >= Number(pending.highWatermark)) this.reachedPartitionEnd()
      this.countCommitted(work.partition, pending, truncated)
      const committed = performance.now()
      await this.afterCommit(work, pending, content.rows, outboxIds)
      log.debug('commit', {
        partition: work.partition,
        batches: pending.batches,
        events: pending.tally.read,
        rows: pending.archive.length,
        commit_ms: Math.round(committed - started),
        after_commit_ms: Math.round(performance.now() - committed),
      })
      return true
    })()
    work.committing = run
    return run
  }

  private reachedPartitionEnd(): void {
    this.atPartitionEnd.resolve()
    this.atPartitionEnd = Promise.withResolvers<void>()
  }

  /** The engine is now ahead of PostgreSQL: forget it and resume from what PostgreSQL holds. */
  private async commitFailed(
    work: PartitionWork,
    pending: PendingCommit,
    rows: readonly MetricsRow[],
    error: unknown,
    retry: boolean,
  ) {
    work.clearTimer()
    if (this.partitions.get(work.partition) === work) {
      this.partitions.delete(work.partition)
      // At once: the fetch under way stops taking batches (isStale), and the partition's next fetch
      // loads it again from PostgreSQL and moves to the offset stored there. (Done later, the seek
      // would move a partition already loaded again back to where this work stood.)
      this.seekBack(work.partition, work.committed ?? pending.fromOffset)
      if (isSessionLost(error) || error instanceof TimeLimitError)
        this.doubts.record(work.partition, { pending, rows })
    }
    if (isPermanent(error)) {
      // Retrying cannot help (the data itself is refused): stop loudly rather than loop for ever.
      this.failure = error as Error
      log.error('commit refused by PostgreSQL; stopping', {
        partition: work.partition,
        error: errorText(error),
      })
      this.stop()
      return
    }
    if (error instanceof FencedError) log.warn(error.message)
    else {
      if (isLockTimeout(error)) await this.endStalledSessions()
      if (retry) await this.failed(error, work.partition)
    }
  }

  /** Moves the consumer to `offset`; a consumer that cannot seek (stopping, rebalancing) re-reads anyway. */
  private seekBack(partition: number, offset: number): void {
    try {
      this.consumer?.seek({ topic: this.options.topic, partition, offset: String(offset) })
    } catch (error) {
      log.debug('seek not taken; the partition is read from PostgreSQL on its next fetch', {
        partition,
        error: errorText(error),
      })
    }
  }

  /**
   * A commit in doubt that the stored offset shows stored after all: what follows a commit is done
   * for it now (its rows to Redis, its counts to the run's; its alerts, which wait in the outbox, go
   * out before any later ones: fallBehind).
   */
  private settleDoubt(partition: number, storedOffset: number | null): void {
    const stored = this.doubts.settle(partition, storedOffset)
    if (stored === null) return
    log.info('a commit reported failed was stored after all; its Redis rows and alerts follow now', {
      partition,
      next_offset: storedOffset,
    })
    this.countCommitted(partition, stored.pending, 0)
    this.redisSync.queue(stored.rows)
    this.outbox.added(stored.pending.archive.length)
    if (stored.pending.alerts.length > 0) this.alerts.fallBehind()
  }

  /**
   * After a lock wait ran out: the lock may be held by the session of a process frozen halfway
   * through sending its commit, which PostgreSQL never ends by itself; ended, its transaction rolls
   * back and the next try gets the row (PostgresStore.endStalledSessions).
   */
  private async endStalledSessions(): Promise<void> {
    const ended = await this.store.endStalledSessions(STALLED_SESSION_SECONDS).catch(() => [])
    if (ended.length > 0)
      log.warn('ended PostgreSQL sessions stuck in the middle of a commit (their process stopped sending)', {
        pids: ended,
        stalled_seconds: STALLED_SESSION_SECONDS,
      })
  }

  private countCommitted(partition: number, pending: PendingCommit, truncated: number): void {
    this.tally.add(pending.tally)
    this.deadLetters += pending.deadLetters.length
    this.truncatedDeadLetters += truncated
    this.batches += pending.batches
    this.rows += pending.archive.length
    this.commits++
    this.telemetry.batchCommitted(pending.tally, pending.deadLetters.length)
    this.telemetry.partitionCommitted(partition, pending.highWatermark, pending.nextOffset)
  }

  /**
   * The stores that follow PostgreSQL: none of them can lose what is committed, and none holds the
   * partition up when it fails (Redis is written in the background, Parquet rows and alerts wait in
   * their outboxes and are retried).
   */
  private async afterCommit(
    work: PartitionWork,
    pending: PendingCommit,
    latestRows: readonly MetricsRow[],
    outboxIds: number[],
  ): Promise<void> {
    this.redisSync.queue(latestRows)
    this.commitToKafka(work, pending.nextOffset)
    await this.alerts.committed(
      pending.alerts.map((alert, i) => ({ ...alert, outboxId: outboxIds[i] as number })),
    )
    this.outbox.added(pending.archive.length)
    void this.drainParquet(this.now())
  }

  /** Kafka's copy of the position, for lag tools only (PostgreSQL's is the one resumed from). */
  private commitToKafka(work: PartitionWork, nextOffset: number): void {
    if (performance.now() - work.kafkaCommittedAt < KAFKA_COMMIT_INTERVAL_MS) return
    work.kafkaCommittedAt = performance.now()
    this.consumer
      ?.commitOffsets([{ topic: this.options.topic, partition: work.partition, offset: String(nextOffset) }])
      .catch((error) =>
        log.debug('offsets not committed to Kafka (lag tools only)', { error: errorText(error) }),
      )
  }

  /** A batch could not be read or committed: reported (once per outage), then retried after a second. */
  private async failed(error: unknown, partition: number): Promise<void> {
    const sink = failedSink(error)
    this.telemetry.sinkFailed(sink, error, { partition, retry: 'from the last commit, every second' })
    await this.pause(RETRY_AFTER_FAILURE_MS)
    this.telemetry.sinkRetry(sink)
  }

  /** The partition's work, loaded from PostgreSQL once per assignment (concurrent callers share the load). */
  private partitionWork(partition: number): Promise<PartitionWork> {
    const known = this.partitions.get(partition)
    if (known !== undefined) return Promise.resolve(known)
    const loading = this.loading
    let load = loading.get(partition)
    if (load === undefined) {
      load = this.loadPartition(partition)
      loading.set(partition, load)
      // Only while it runs: once loaded the work is in `partitions`, and a failed load (or a work
      // dropped after a failed commit) is loaded afresh by the next caller.
      const done = () => loading.delete(partition)
      load.then(done, done)
    }
    return load
  }

  private async loadPartition(partition: number): Promise<PartitionWork> {
    const partitions = this.partitions
    const saved = await this.store.loadPartition(this.options.topic, partition)
    const first = (await this.firstOffsets()).get(partition) ?? 0
    const engine = new Engine(this.options.core, { trackDaily: true })
    engine.restore(saved.states)
    // Nothing stored yet: from the partition's beginning, wherever Kafka's copy of the offsets stands.
    const work = new PartitionWork(partition, engine, saved.nextOffset, saved.nextOffset ?? first)
    partitions.set(partition, work)
    this.settleDoubt(partition, saved.nextOffset)
    log.info('partition loaded', { partition, items: saved.states.length, next_offset: saved.nextOffset })
    this.skipDeleted(work, first)
    return work
  }

  /**
   * Loads each partition just assigned and moves the consumer to where its engine stands (the
   * offset stored in PostgreSQL, or the partition's beginning when none is). Kafka's copy of the
   * group's offsets may be elsewhere (behind, or at the end after a run against another database),
   * and kafkajs hands over no empty fetch that planFetch could correct. A partition that cannot be
   * loaded now is loaded, and moved, by its first fetch.
   */
  private async placeAssigned(partitions: readonly number[]): Promise<void> {
    for (const partition of partitions) {
      try {
        const work = await this.partitionWork(partition)
        if (this.stopping || this.partitions.get(partition) !== work || work.position === null) continue
        this.consumer?.seek({ topic: this.options.topic, partition, offset: String(work.position) })
      } catch (error) {
        log.debug('partition not loaded on assignment; its first fetch loads it', {
          partition,
          error: errorText(error),
        })
      }
    }
  }

  /** skipDeleted, with the partition's first offset looked up (false when it cannot be: the seek follows). */
  private async skippedDeleted(work: PartitionWork): Promise<boolean> {
    const first = await this.firstOffsets().then(
      (offsets) => offsets.get(work.partition),
      () => undefined,
    )
    return first !== undefined && this.skipDeleted(work, first)
  }

  /**
   * Offsets below the partition's first were deleted by the broker (retention) before they were
   * read: reported now and at the exit (which then fails), and the partition moves on past them.
   * Returns whether it did.
   */
  private skipDeleted(work: PartitionWork, first: number): boolean {
    const position = work.position
    if (position === null || position >= first) return false
    log.warn('events deleted by the broker before they were read; reading on after them', {
      partition: work.partition,
      first_deleted: position,
      last_deleted: first - 1,
      offsets: first - position,
    })
    this.unread.push(
      `offsets ${position}–${first - 1} of partition ${work.partition} were deleted by the broker before they were read (retention)`,
    )
    work.skipTo(first, this.now())
    return true
  }

  /** By partition, the oldest offset the broker still holds. */
  private async firstOffsets(): Promise<Map<number, number>> {
    const admin = (this.lookups as ReturnType<typeof kafkaClient>).admin()
    await admin.connect()
    try {
      const offsets = await admin.fetchTopicOffsets(this.options.topic)
      return new Map(offsets.map((offset) => [offset.partition, Number(offset.low)]))
    } finally {
      await admin.disconnect()
    }
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
    // While PostgreSQL is down the outbox cannot be read: its outage is reported once, by the commits.
    if (!this.telemetry.failing('postgres')) void this.drainParquet(this.now())
    this.alerts.followUp(FOLLOW_UP_RETRY_MS)
  }
}
