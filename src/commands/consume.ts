import { hostname } from 'node:os'
import { defineCommand } from 'citty'
import { CORE_SETTINGS, coreConfigOf, loadSettings, settingArgs } from '../config.ts'
import { ConsumePipeline } from '../consume.ts'
import { KAFKA_SETTINGS } from '../kafka/client.ts'
import { log } from '../log.ts'
import { startMetricsServer, Telemetry } from '../observability.ts'
import { connectPostgres, POSTGRES_SETTINGS } from '../postgres/connect.ts'
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
  'dataDir',
  'parquetRowsPerFile',
  'parquetFlushSeconds',
  'metricsPort',
  ...CORE_SETTINGS,
] as const

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
    const instance = (args.instance ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9.-]/g, '-')
    const sql = connectPostgres(settings)
    const redis = new RedisMetricsSink(connectRedis(settings), settings.redisTtlSeconds)
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
    const stop = (signal: string) => {
      log.info('stopping: finishing the batch in flight', { signal })
      pipeline.stop()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
    log.info('consuming', {
      topic: settings.kafkaTopic,
      group: settings.kafkaGroupId,
      instance,
      batch_size: settings.batchSize,
    })
    try {
      const summary = await pipeline.run()
      log.info('stopped', {
        ...summary.tally.toJSON(),
        alerts_sent: summary.alertsSent,
        dead_letters: summary.deadLetters,
        batches: summary.batches,
        parquet_files: summary.parquetFiles.length,
        seconds: Number(summary.seconds.toFixed(3)),
      })
    } finally {
      telemetry.stop()
      await server?.stop()
      await redis.close()
      await sql.end({ timeout: 5 })
    }
  },
})
