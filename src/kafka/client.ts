// The kafkajs client from the settings, with its logs routed into ours (warnings and errors only:
// kafkajs is chatty about routine group membership). TLS and SASL (PLAIN, SCRAM-SHA-256/512) come
// from KAFKA_SECURITY_PROTOCOL and its companions; the password is handed to kafkajs only.
import { readFileSync } from 'node:fs'
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs'
import type { Settings } from '../config.ts'
import { UsageError } from '../errors.ts'
import { log } from '../log.ts'

/**
 * Timeouts and retries of every Kafka call: a request waits at most 10 s for its answer (a frozen
 * broker), a connection 3 s; a failed call is retried 8 times with waits of 0.2 s doubling up to
 * 5 s (about 20 s in all) before it fails, so that a client restarted after an outage is back
 * within 5 s of the broker.
 */
export const KAFKA_TIMEOUTS = {
  connectionTimeout: 3_000,
  requestTimeout: 10_000,
  retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 8 },
} as const

/** Where kafkajs' complaints go: plain log lines (one-shot commands) or an outage tracker (consume). */
export type KafkaLogSink = (level: 'warn' | 'error', message: string, fields: Record<string, unknown>) => void

const plainKafkaLog: KafkaLogSink = (level, message, fields) => log[level](`kafka: ${message}`, fields)

/** Broker states that kafkajs waits out by itself (a broker or group just starting or moving), and its consumer restarts (the crash line before gives the cause). */
const ROUTINE =
  /coordinator is loading|not the correct coordinator|coordinator is not available|group is rebalancing|There is no leader|not the leader|leadership election|^Restarting the consumer/i

/**
 * kafkajs' complaints during an outage (every retry of every connection logs a line) as one warning
 * per outage: the first complaint with its cause; the rest counted at debug level, and the count
 * given in one line when `recovered()` is called (the consumer fetched or joined again).
 */
export class KafkaComplaints {
  private since: number | null = null
  private count = 0
  private first = ''

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether Kafka is complaining now (an outage began and has not ended). */
  get active(): boolean {
    return this.since !== null
  }

  /** The outage's first complaint; null when there is none. */
  get problem(): string | null {
    return this.since === null ? null : this.first
  }

  readonly sink: KafkaLogSink = (level, message, fields) => {
    // kafkajs logs every error answer of the broker ("Response GroupCoordinator...: The group
    // coordinator is not available" on a fresh group, say) and retries the call, or restarts the
    // consumer after a coordinator that is still loading: routine, unless the call fails in the
    // end, which its caller reports.
    if (message.startsWith('Response ') || ROUTINE.test(message)) {
      log.debug(`kafka: ${message}`, { kafka_level: level, ...fields })
      return
    }
    this.count++
    // kafkajs puts the cause beside its message (error: "..."): both go into ours.
    const text = typeof fields.error === 'string' ? `${message}: ${fields.error}` : message
    if (this.since === null) {
      this.since = this.now()
      this.first = text
      log.warn(`kafka: ${text}`, {
        ...fields,
        note: 'one line per outage; another when Kafka answers again',
      })
    } else log.debug(`kafka: ${text}`, { kafka_level: level, ...fields })
  }

  /** The client works again: ends the outage with one line, if there was one. */
  recovered(): void {
    if (this.since === null) return
    const seconds = (this.now() - this.since) / 1000
    log.info(`kafka: working again after ${seconds.toFixed(1)} s`, {
      outage_seconds: Number(seconds.toFixed(3)),
      client_errors: this.count,
      first_error: this.first,
    })
    this.since = null
    this.count = 0
  }
}

export const KAFKA_SETTINGS = [
  'kafkaBootstrapServers',
  'kafkaSecurityProtocol',
  'kafkaSaslMechanism',
  'kafkaSaslUsername',
  'kafkaSaslPassword',
  'kafkaSslCaFile',
] as const
export type KafkaSettings = Settings<(typeof KAFKA_SETTINGS)[number]>

export function kafkaClient(
  settings: KafkaSettings,
  clientId = 'invpipe',
  logSink: KafkaLogSink = plainKafkaLog,
  /** How often a failed call is retried (default KAFKA_TIMEOUTS.retry.retries). */
  retries: number = KAFKA_TIMEOUTS.retry.retries,
): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.kafkaBootstrapServers.split(','),
    ...kafkaSecurity(settings),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, timestamp: _, logger: __, stack: ___, ...fields } = entry
        logSink(level <= logLevel.ERROR ? 'error' : 'warn', String(message), fields)
      },
    connectionTimeout: KAFKA_TIMEOUTS.connectionTimeout,
    requestTimeout: KAFKA_TIMEOUTS.requestTimeout,
    retry: { ...KAFKA_TIMEOUTS.retry, retries },
  })
}

/** kafkajs' `ssl` and `sasl` options (loadSettings has already checked that SASL is complete). */
export function kafkaSecurity(settings: KafkaSettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const protocol = settings.kafkaSecurityProtocol
  const result: Pick<KafkaConfig, 'ssl' | 'sasl'> = {}
  if (protocol === 'SSL' || protocol === 'SASL_SSL')
    result.ssl = settings.kafkaSslCaFile ? { ca: [readFileSync(settings.kafkaSslCaFile, 'utf8')] } : true
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const {
      kafkaSaslMechanism: mechanism,
      kafkaSaslUsername: username,
      kafkaSaslPassword: password,
    } = settings
    if (mechanism === undefined || username === undefined || password === undefined)
      throw new UsageError(
        `KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD`,
      )
    result.sasl = { mechanism, username, password } as SASLOptions
  }
  return result
}

/** Creates the topics that do not exist yet (idempotent; several instances may race). */
export async function ensureTopics(kafka: Kafka, topics: string[], partitions = 3): Promise<void> {
  const admin = kafka.admin()
  try {
    await admin.connect()
  } catch (error) {
    // Wrong credentials are the user's to fix: one line (kafkajs' message names no password).
    if (error instanceof Error && error.name === 'KafkaJSSASLAuthenticationError')
      throw new UsageError(`Kafka refused the credentials: ${error.message}`)
    throw error
  }
  try {
    const existing = new Set(await admin.listTopics())
    const missing = topics.filter((topic) => !existing.has(topic))
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions: partitions })),
        waitForLeaders: true,
      })
    }
  } finally {
    await admin.disconnect()
  }
}
