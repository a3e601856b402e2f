// The kafkajs client from the settings, with its logs routed into ours (warnings and errors only:
// kafkajs is chatty about routine group membership). TLS and SASL (PLAIN, SCRAM-SHA-256/512) come
// from KAFKA_SECURITY_PROTOCOL and its companions; the password is handed to kafkajs only.
import { readFileSync } from 'node:fs'
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs'
import type { Settings } from '../config.ts'
import { UsageError } from '../errors.ts'
import { log } from '../log.ts'

export const KAFKA_SETTINGS = [
  'kafkaBootstrapServers',
  'kafkaSecurityProtocol',
  'kafkaSaslMechanism',
  'kafkaSaslUsername',
  'kafkaSaslPassword',
  'kafkaSslCaFile',
] as const
export type KafkaSettings = Settings<(typeof KAFKA_SETTINGS)[number]>

export function kafkaClient(settings: KafkaSettings, clientId = 'invpipe'): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.kafkaBootstrapServers.split(','),
    ...kafkaSecurity(settings),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...fields } = entry
        if (level <= logLevel.ERROR) log.error(`kafka: ${message}`, fields)
        else log.warn(`kafka: ${message}`, fields)
      },
    retry: { initialRetryTime: 200, retries: 8 },
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
