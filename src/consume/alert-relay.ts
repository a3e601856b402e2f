// Alert messages from the outbox to ALERT_TOPIC. A commit stores its messages in
// analytics.alert_outbox; they are sent after it and marked sent once the topic has them (they stay
// ALERT_LOG_DAYS as the items' alert log, read by `invpipe item`), so none is
// ever lost: one that a crash or a Kafka error kept from the topic waits in the outbox and is sent
// again (the same bytes, the same message_id). An episode's messages reach the topic in order.
import type { Producer } from 'kafkajs'
import { errorText, log } from '../log.ts'
import type { Telemetry } from '../observability.ts'
import { sendAlerts } from '../sinks/kafka.ts'
import type { PostgresStore, StoredAlert } from '../sinks/postgres.ts'

/** Sent messages are kept this long in the outbox, as the alert log; older ones are deleted (sweepAlertLog). */
export const ALERT_LOG_DAYS = 90

/** A running consume deletes the sent messages past ALERT_LOG_DAYS at start-up and then this often. */
export const ALERT_LOG_SWEEP_MS = 3_600_000

/** An alert still in the outbox this long after its commit was not sent by its instance. */
export const UNSENT_ALERT_AGE_SECONDS = 30

export class AlertRelay {
  sent = 0
  private lastResendAt = 0
  /** A send failed: messages wait in the outbox, and later ones must not overtake them. */
  private behind = false
  private lastError: string | null = null
  /** Sends, one at a time (a commit's own and the re-sends of the outbox). */
  private chain: Promise<void> = Promise.resolve()
  private resending: Promise<void> | null = null
  /** The pass that follows the one under way, shared by the callers meanwhile (with the smallest age asked). */
  private queued: { run: Promise<void>; olderThanSeconds: number } | null = null
  private lastSweepAt = Number.NEGATIVE_INFINITY

  constructor(
    private readonly producer: () => Producer | null,
    private readonly topic: string,
    private readonly store: PostgresStore,
    private readonly telemetry: Telemetry,
    private readonly now: () => number,
  ) {}

  /**
   * Messages may wait in the outbox that this relay was not given (a commit reported failed that
   * PostgreSQL stored after all): from now on each commit's messages go out with everything unsent,
   * oldest first, until the outbox is empty.
   */
  fallBehind(): void {
    this.behind = true
  }

  /** A commit's messages: sent now, unless earlier ones wait (then everything unsent, oldest first). */
  async committed(alerts: StoredAlert[]): Promise<void> {
    // (That may repeat a message another instance is sending right now: the same bytes, the same message_id.)
    if (this.behind) await this.resendUnsent(0)
    else await this.sendAndMark(alerts)
    if (this.now() - this.lastResendAt >= UNSENT_ALERT_AGE_SECONDS * 1000)
      await this.resendUnsent(UNSENT_ALERT_AGE_SECONDS)
  }

  /**
   * Background follow-up: after a failed send, the outbox is tried again every `retryMs`; the alert
   * log is swept every ALERT_LOG_SWEEP_MS (a consume that runs for months keeps only its last days).
   */
  followUp(retryMs: number): void {
    if (this.behind && this.now() - this.lastResendAt >= retryMs) void this.resendUnsent(0)
    void this.sweepAlertLog()
  }

  /**
   * Deletes the sent messages past ALERT_LOG_DAYS unless the last sweep is less than
   * ALERT_LOG_SWEEP_MS old; how many. Never throws: a failure is a warning, and the next sweep tries
   * again.
   */
  async sweepAlertLog(): Promise<number> {
    if (this.now() - this.lastSweepAt < ALERT_LOG_SWEEP_MS) return 0
    this.lastSweepAt = this.now()
    try {
      const forgotten = await this.store.forgetSentAlerts(ALERT_LOG_DAYS)
      if (forgotten > 0)
        log.info('alert log: sent messages past their retention deleted', {
          messages: forgotten,
          days: ALERT_LOG_DAYS,
        })
      return forgotten
    } catch (error) {
      // At most once an hour: a sweep that keeps failing (a missing privilege, a timeout) is seen.
      log.warn('alert log: sent messages past their retention not deleted; tried again in an hour', {
        error: errorText(error),
      })
      return 0
    }
  }

  /** At exit: what waits is sent; returns one line when some could not be. */
  async finish(): Promise<string | null> {
    if (this.producer() === null) return null
    await this.resendUnsent(this.behind ? 0 : UNSENT_ALERT_AGE_SECONDS)
    if (!this.behind) return null
    const waiting = await this.store.unsentAlerts(0).then(
      (rows) => String(rows.length),
      () => 'some',
    )
    return `alerts: ${waiting} messages wait in the outbox (${this.lastError ?? 'not sent'}); the next start sends them`
  }

  /**
   * Sends what waits in the outbox (committed at least `olderThanSeconds` ago), oldest first. One
   * pass at a time; never throws. A caller arriving while a pass is under way gets one more pass
   * after it: the pass under way may have read the outbox before the caller's messages were in it,
   * and ending there would let the caller's later messages overtake them.
   */
  resendUnsent(olderThanSeconds: number): Promise<void> {
    const current = this.resending
    if (current === null) return this.startPass(olderThanSeconds)
    if (this.queued !== null) {
      this.queued.olderThanSeconds = Math.min(this.queued.olderThanSeconds, olderThanSeconds)
      return this.queued.run
    }
    const queued = { olderThanSeconds, run: Promise.resolve() }
    queued.run = current.then(() => {
      this.queued = null
      return this.startPass(queued.olderThanSeconds)
    })
    this.queued = queued
    return queued.run
  }

  private startPass(olderThanSeconds: number): Promise<void> {
    const run: Promise<void> = this.resendOnce(olderThanSeconds).finally(() => {
      if (this.resending === run) this.resending = null
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
        // PostgreSQL's outage is reported by the commits; the outbox is read again later.
        log.debug('alert outbox not readable now', { error: errorText(error) })
        return
      }
      if (unsent.length === 0) {
        if (olderThanSeconds === 0) this.behind = false
        return
      }
      this.telemetry.sinkRetry('kafka')
      const before = this.sent
      await this.sendAndMark(unsent)
      if (this.sent === before) return
    }
  }

  /** Sends messages and deletes them from the outbox; on failure they wait there. */
  private sendAndMark(alerts: StoredAlert[]): Promise<void> {
    if (alerts.length === 0) return Promise.resolve()
    const send = async () => {
      try {
        await sendAlerts(this.producer() as Producer, this.topic, alerts)
        this.telemetry.sinkOk('kafka')
        this.sent += alerts.length
        this.telemetry.alertsSent(alerts.length)
      } catch (error) {
        this.lastError = errorText(error)
        this.telemetry.sinkFailed('kafka', error, { alerts: alerts.length, kept: 'in the alert outbox' })
        this.behind = true
        return
      }
      try {
        await this.store.markAlertsSent(alerts.map((a) => a.outboxId))
      } catch (error) {
        // Sent but still in the outbox: sent again later (the same bytes, the same message_id).
        this.lastError = errorText(error)
        this.behind = true
      }
    }
    const run = this.chain.then(send)
    this.chain = run
    return run
  }
}
