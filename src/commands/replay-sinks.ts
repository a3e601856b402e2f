// The stores `replay --sinks` feeds, opened for a one-shot run: each is asked to answer before
// anything is read, and the first failure (at the start or mid-run) ends the run with one line
// naming the store, within seconds. (`consume` is the long-running job that retries through an
// outage; a replay that waited for a dead store would never end.)
import { connect as connectTcp } from 'node:net'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import type { Settings } from '../config.ts'
import { errorCode, ServiceError, UsageError } from '../errors.ts'
import { ensureTopics, type KAFKA_SETTINGS, kafkaSecurity } from '../kafka/client.ts'
import { errorText } from '../log.ts'
import { connectPostgres, type POSTGRES_SETTINGS, postgresLocation } from '../postgres/connect.ts'
import { type BatchSink, kafkaAlertSink, postgresBatchSink } from '../sinks/batch-sink.ts'
import { connectRedis, type REDIS_SETTINGS, RedisMetricsSink } from '../sinks/redis.ts'

export const SINK_NAMES = ['parquet', 'postgres', 'redis', 'kafka'] as const
export type SinkName = (typeof SINK_NAMES)[number]

type SinkSettings = Settings<
  | (typeof POSTGRES_SETTINGS)[number]
  | (typeof REDIS_SETTINGS)[number]
  | (typeof KAFKA_SETTINGS)[number]
  | 'alertTopic'
>

/** How long a store may take to answer at the start, and to take one batch. */
const OPEN_TIMEOUT_MS = 15_000
const WRITE_TIMEOUT_MS = 20_000

export function parseSinks(text: string): Set<SinkName> {
  const names = text.split(',').map((name) => name.trim())
  const unknown = names.filter((name) => !(SINK_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0)
    throw new UsageError(`--sinks: unknown sink ${unknown.join(', ')} (expected ${SINK_NAMES.join(', ')})`)
  return new Set(names as SinkName[])
}

/** Opens the named stores; when one does not answer, closes those already open and throws one line. */
export async function openSinks(names: Set<SinkName>, settings: SinkSettings): Promise<BatchSink[]> {
  const sinks: BatchSink[] = []
  try {
    if (names.has('postgres')) sinks.push(await openPostgres(settings))
    if (names.has('redis')) sinks.push(await openRedis(settings))
    if (names.has('kafka')) sinks.push(await openKafka(settings))
    return sinks
  } catch (error) {
    await closeQuietly(sinks)
    throw error
  }
}

/** Closes stores after a failure: their own errors would only hide the first one. */
export async function closeQuietly(sinks: readonly BatchSink[]): Promise<void> {
  for (const sink of sinks) await within(5_000, sink.name, sink.close()).catch(() => {})
}

async function openPostgres(settings: SinkSettings): Promise<BatchSink> {
  const where = `PostgreSQL ${postgresLocation(settings)}`
  const sql = connectPostgres(settings)
  try {
    return guard(where, await within(OPEN_TIMEOUT_MS, where, postgresBatchSink(sql)))
  } catch (error) {
    sql.end({ timeout: 1 }).catch(() => {})
    throw failure(where, error, true)
  }
}

async function openRedis(settings: SinkSettings): Promise<BatchSink> {
  const where = `Redis ${settings.redisHost}:${settings.redisPort}`
  const client = connectRedis(settings)
  // ioredis reports why it could not connect (ECONNREFUSED, ENOTFOUND) as an event; the failed
  // connect() only says "Connection is closed".
  let cause: Error | undefined
  client.on('error', (error: Error) => {
    cause ??= error
  })
  try {
    await within(
      OPEN_TIMEOUT_MS,
      where,
      client.connect().then(() => client.ping()),
    )
  } catch (error) {
    client.disconnect()
    throw failure(where, error instanceof ServiceError ? error : (cause ?? error), true)
  }
  const redis = new RedisMetricsSink(client, settings.redisTtlSeconds)
  return guard(where, {
    name: 'redis',
    needsDaily: false,
    // The sink keeps failed rows for a retry (consume's way); a one-shot run stops instead.
    write: async (batch) => {
      if (!(await redis.write(batch.rows))) throw new ServiceError(`${where}: ${redis.lastError}`)
    },
    close: () => redis.close(),
  })
}

async function openKafka(settings: SinkSettings): Promise<BatchSink> {
  const where = `Kafka ${settings.kafkaBootstrapServers}`
  // kafkajs retries an unreachable broker for about a minute; a plain connection says it at once.
  await anyReachable(where, settings.kafkaBootstrapServers.split(','))
  // Its own client, quiet and quick to give up: the failure is reported once, as the run's last line.
  const kafka = new Kafka({
    clientId: 'invpipe-replay',
    brokers: settings.kafkaBootstrapServers.split(','),
    ...kafkaSecurity(settings),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, retries: 3 },
  })
  // kafkajs sets a timer with a negative delay while it gives up; the runtime's warning is noise.
  process.removeAllListeners('warning')
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') console.error(`${warning.name}: ${warning.message}`)
  })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  try {
    await within(OPEN_TIMEOUT_MS, where, ensureTopics(kafka, [settings.alertTopic]))
    await within(OPEN_TIMEOUT_MS, where, producer.connect())
  } catch (error) {
    producer.disconnect().catch(() => {})
    throw failure(where, error, true)
  }
  return guard(where, kafkaAlertSink(producer, settings.alertTopic))
}

/** Every write and close of the sink within a time limit, a failure as one line naming the store. */
function guard(where: string, sink: BatchSink): BatchSink {
  return {
    name: sink.name,
    needsDaily: sink.needsDaily,
    write: (batch, now) =>
      within(WRITE_TIMEOUT_MS, where, sink.write(batch, now)).catch((error) => {
        throw failure(where, error)
      }),
    close: () =>
      within(WRITE_TIMEOUT_MS, where, sink.close()).catch((error) => {
        throw failure(where, error)
      }),
  }
}

/** Resolves once one of the brokers accepts a TCP connection; else one line with the reason. */
async function anyReachable(where: string, servers: readonly string[]): Promise<void> {
  const reasons: string[] = []
  for (const server of servers) {
    const colon = server.lastIndexOf(':')
    const [host, port] = [server.slice(0, colon), Number(server.slice(colon + 1))]
    const reason = await new Promise<string | null>((resolve) => {
      const socket = connectTcp({ host, port })
      socket.setTimeout(5_000)
      socket.once('connect', () => {
        socket.destroy()
        resolve(null)
      })
      socket.once('timeout', () => {
        socket.destroy()
        resolve('no answer within 5 s')
      })
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    })
    if (reason === null) return
    reasons.push(`${server} ${reason}`)
  }
  throw new ServiceError(`${where}: cannot connect (${reasons.join(', ')})`)
}

/** The promise, or a ServiceError once `ms` have passed without an answer. */
export function within<T>(ms: number, where: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServiceError(`${where}: no answer within ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * A store's failure as one line naming it: errors of the network, the server or the client
 * library (they carry a code, or are kafkajs' or ioredis' own; while opening, any error); anything
 * else is a bug and keeps its stack.
 */
export function failure(where: string, error: unknown, opening = false): unknown {
  if (error instanceof ServiceError || error instanceof UsageError || !(error instanceof Error)) return error
  const fromClient =
    opening ||
    errorCode(error) !== '' ||
    error.name.startsWith('KafkaJS') ||
    ['ReplyError', 'MaxRetriesPerRequestError', 'PostgresError'].includes(error.name) ||
    /connection is closed|stream isn't writeable|timed out/i.test(error.message)
  if (!fromClient) return error
  return new ServiceError(`${where}: ${errorText(error)}`)
}
