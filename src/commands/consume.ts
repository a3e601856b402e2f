import { hostname } from 'node:os'
import { defineCommand } from 'citty'
import { CORE_SETTINGS, coreConfigOf, loadSettings, settingArgs } from '../config.ts'
import { ConsumePipeline } from '../consume/pipeline.ts'
import { KAFKA_SETTINGS } from '../kafka/client.ts'
import { errorText, log, routeProcessOutput } from '../log.ts'
import { memoryLimit } from '../memory-settings.ts'
import { startMetricsServer, Telemetry } from '../observability.ts'
import {
  CONSUME_SESSION,
  connectPostgres,
  fromPostgresServer,
  POSTGRES_SETTINGS,
  postgresLocation,
  renewingPool,
} from '../postgres/connect.ts'
import { connectRedis, REDIS_SETTINGS, RedisMetricsSink } from '../sinks/redis.ts'

const CONSUME_SETTINGS = [
  ...KAFKA_SETTINGS,
  'kafkaTopic',
  'kafkaGroupId',
  'kafkaSessionTimeoutMs',
  'alertTopic',
  'dlqTopic',
  ...POSTGRES_SETTINGS,
  ...REDIS_SETTINGS,
  'batchSize',
  'commitIntervalMs',
  'dataDir',
  'parquetRowsPerFile',
  'parquetFlushSeconds',
  'metricsPort',
  ...CORE_SETTINGS,
] as const

/** After the run, the process may still hold a library's socket or timer: it exits anyway after this long. */
const EXIT_GRACE_MS = 2_000

export const consumeCommand = defineCommand({
  meta: {
    name: 'consume',
    description:
      'The live pipeline: Kafka → analytics → PostgreSQL, Redis, Parquet and the alert topic; exactly once in effect.\n' +
      'Examples:\n  invpipe consume\n  KAFKA_TOPIC=events BATCH_SIZE=5000 invpipe consume --drain',
  },
  args: {
    drain: {
      type: 'boolean',
      description: 'stop once the group has consumed every partition of the topic to its end',
    },
    instance: {
      type: 'string',
      description: 'name of this instance in file names and logs (default host-pid)',
    },
    ...settingArgs(CONSUME_SETTINGS),
  },
  async run({ args }) {
    const settings = loadSettings(CONSUME_SETTINGS, args)
    // From here on stderr carries JSON lines only, whatever the libraries run into.
    routeProcessOutput()
    const instance = (args.instance ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9.-]/g, '-')
    const sql = renewingPool(() => connectPostgres(settings, 4, CONSUME_SESSION))
    const redis = new RedisMetricsSink(connectRedis(settings), settings.redisTtlSeconds, { onlyNewer: true })
    const telemetry = new Telemetry()
    telemetry.watchPostgres(sql)
    const server = settings.metricsPort > 0 ? startMetricsServer(telemetry, settings.metricsPort) : null
    const pipeline = new ConsumePipeline({
      core: coreConfigOf(settings),
      kafka: settings,
      topic: settings.kafkaTopic,
      groupId: settings.kafkaGroupId,
      sessionTimeoutMs: settings.kafkaSessionTimeoutMs,
      alertTopic: settings.alertTopic,
      dlqTopic: settings.dlqTopic,
      batchSize: settings.batchSize,
      commitIntervalMs: settings.commitIntervalMs,
      sql,
      redis,
      outbox: {
        dataDir: settings.dataDir,
        rowsPerFile: settings.parquetRowsPerFile,
        maxWaitMs: settings.parquetFlushSeconds * 1000,
      },
      drain: args.drain ?? false,
      instance,
      telemetry,
    })
    // The exit has the session timeout (the shutdown's own limits, plus a little): past it, the
    // process ends whatever is still waiting, as a crash would (every store is crash-safe).
    const hardLimitMs = Math.max(5_000, settings.kafkaSessionTimeoutMs - 1_000) + 3_000
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        log.error('second signal: exiting at once', { signal })
        process.exit(1)
      }
      log.info('stopping: finishing the batch in flight', { signal })
      pipeline.stop()
      setTimeout(() => {
        log.error('exit: shutdown did not finish within the time limit; exiting', { limit_ms: hardLimitMs })
        process.exit(1)
      }, hardLimitMs).unref()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    log.info('consuming', {
      topic: settings.kafkaTopic,
      group: settings.kafkaGroupId,
      instance,
      batch_size: settings.batchSize,
      commit_interval_ms: settings.commitIntervalMs,
      ...memoryFields(),
    })
    let exitCode = 0
    try {
      const summary = await pipeline.run()
      log.info('stopped', {
        ...summary.tally.toJSON(),
        alerts_sent: summary.alertsSent,
        dead_letters: summary.deadLetters,
        truncated_dead_letters: summary.truncatedDeadLetters,
        batches: summary.batches,
        rows: summary.rows,
        parquet_files: summary.parquetFiles.length,
        seconds: Number(summary.seconds.toFixed(3)),
        failures: summary.failures.length,
      })
      if (summary.failures.length > 0) exitCode = 1
    } catch (error) {
      // One line, whatever failed (the pipeline has already shut down what it had started), naming
      // the database when its server refused (never the password).
      const where = fromPostgresServer(error) ? `PostgreSQL ${postgresLocation(settings)}: ` : ''
      log.error(`consume failed: ${where}${errorText(error)}`)
      exitCode = 1
    } finally {
      telemetry.stop()
      await server?.stop().catch(() => {})
      await redis.close().catch(() => {})
      await sql.end({ timeout: 5 }).catch(() => {})
    }
    process.exitCode = exitCode
    // A library may still hold a socket or a timer (a producer that never connected, a pool
    // waiting on a dead server): the run is over, so the process ends regardless.
    setTimeout(() => {
      log.debug('exit: handles still open after the run; exiting')
      process.exit(exitCode)
    }, EXIT_GRACE_MS).unref()
  },
})

/** For whoever sizes the container: the memory limit seen, and the memory settings it led to (src/memory-settings.ts). */
function memoryFields() {
  const mib = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 1048576))
  const heapSizedFor = process.env.BUN_JSC_forceRAMSize
  return {
    memory_limit_mib: mib(memoryLimit()),
    freed_memory: process.env.MIMALLOC_PURGE_DELAY === '-1' ? 'kept' : 'returned',
    heap_sized_for_mib: heapSizedFor === undefined ? null : mib(Number(heapSizedFor)),
  }
}
