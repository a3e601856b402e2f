// The kafkajs client from the settings, with its logs routed into ours (warnings and errors only:
// kafkajs is chatty about routine group membership).
import { Kafka, logLevel } from 'kafkajs'
import { log } from '../log.ts'

export function kafkaClient(bootstrapServers: string, clientId = 'invpipe'): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrapServers.split(','),
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

/** Creates the topics that do not exist yet (idempotent; several instances may race). */
export async function ensureTopics(kafka: Kafka, topics: string[], partitions = 3): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
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
