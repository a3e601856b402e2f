// Real Kafka for the integration tests: the broker that scripts/stack/stack.sh runs.
import { type Admin, Kafka, logLevel, type SeekEntry } from 'kafkajs'

export const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP_SERVERS ?? 'localhost:9092'

export function testKafka(brokers = BOOTSTRAP): Kafka {
  return new Kafka({ clientId: 'invpipe-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING })
}

/** The message key of SPEC §2 for a JSONL line; lines that do not parse get a fixed key. */
export function keyOfLine(line: string): string {
  try {
    const event = JSON.parse(line) as { sku?: unknown; warehouse_id?: unknown }
    return `${event.sku}:${event.warehouse_id}`
  } catch {
    return 'unparseable'
  }
}

/**
 * Retries what a broker that has just (re)started may refuse for a few seconds (metadata still
 * catching up: "does not host this topic-partition"). Only errors kafkajs marks retriable.
 */
async function whenBrokerReady<T>(action: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await action()
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true
      if (!retriable || Date.now() > deadline) throw error
      await Bun.sleep(500)
    }
  }
}

/** Creates a topic (with topic-level settings such as max.message.bytes, when given). */
export async function createTopic(
  topic: string,
  partitions: number,
  brokers = BOOTSTRAP,
  config: Record<string, string> = {},
): Promise<void> {
  await whenBrokerReady(() => createTopicOnce(topic, partitions, brokers, config))
}

async function createTopicOnce(
  topic: string,
  partitions: number,
  brokers: string,
  config: Record<string, string>,
): Promise<void> {
  const admin = testKafka(brokers).admin()
  await admin.connect()
  try {
    const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }))
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, configEntries }],
      waitForLeaders: true,
    })
  } finally {
    await admin.disconnect()
  }
}

/** Produces the lines in order, keyed by item, so each item's events keep their order in one partition. */
export async function produceLines(topic: string, lines: string[], brokers = BOOTSTRAP): Promise<void> {
  const producer = testKafka(brokers).producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let i = 0; i < lines.length; i += 5000) {
      const messages = lines.slice(i, i + 5000).map((line) => ({ key: keyOfLine(line), value: line }))
      await whenBrokerReady(() => producer.send({ topic, acks: -1, messages }))
    }
  } finally {
    await producer.disconnect()
  }
}

/** Reads every message the topic holds now (up to its end offsets), from the beginning. */
export async function readTopic(topic: string, timeoutMs = 30_000, brokers = BOOTSTRAP) {
  const admin = testKafka(brokers).admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  const total = ends.reduce((sum, end) => sum + Number(end.high) - Number(end.low), 0)
  const consumer = testKafka(brokers).consumer({ groupId: `reader-${topic}-${crypto.randomUUID()}` })
  const messages: {
    key: string | null
    value: string | null
    headers: Record<string, string>
    partition: number
  }[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs)
    if (total === 0) resolve()
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
        messages.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers,
          partition,
        })
        if (messages.length >= total) {
          clearTimeout(timer)
          resolve()
        }
      },
    })
  })
  await done
  await consumer.disconnect()
  if (messages.length < total)
    throw new Error(`${topic}: read ${messages.length} of ${total} messages before the timeout`)
  return messages
}

/** Waits until the consumer group has `members` members, each with partitions assigned. */
export async function waitForGroup(
  groupId: string,
  members: number,
  timeoutMs = 60_000,
  brokers = BOOTSTRAP,
): Promise<void> {
  const admin = testKafka(brokers).admin()
  await admin.connect()
  try {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const { groups } = await admin.describeGroups([groupId])
      const group = groups[0]
      if (group?.state === 'Stable' && group.members.length === members) return
      await Bun.sleep(200)
    }
    throw new Error(`group ${groupId} did not reach ${members} stable members`)
  } finally {
    await admin.disconnect()
  }
}

/** Runs `work` with an admin client and the topic's partition ends (low and high offsets). */
async function withPartitionEnds(
  topic: string,
  brokers: string,
  work: (admin: Admin, ends: (SeekEntry & { high: string; low: string })[]) => Promise<void>,
): Promise<void> {
  const admin = testKafka(brokers).admin()
  await admin.connect()
  try {
    await work(admin, await admin.fetchTopicOffsets(topic))
  } finally {
    await admin.disconnect()
  }
}

/**
 * Commits the group's offsets in Kafka at `share` of each partition's length (1: its end, as if the
 * group had read everything; ½: halfway).
 */
export function moveGroupOffsets(
  groupId: string,
  topic: string,
  share: (partition: number) => number,
  brokers = BOOTSTRAP,
): Promise<void> {
  return withPartitionEnds(topic, brokers, (admin, ends) =>
    admin.setOffsets({
      groupId,
      topic,
      partitions: ends.map((end) => ({
        partition: end.partition,
        offset: String(Math.round(Number(end.high) * share(end.partition))),
      })),
    }),
  )
}

/** Deletes each partition's records below `offset(partition)`, as retention would. */
export function deleteRecordsUpTo(
  topic: string,
  offset: (partition: number) => number,
  brokers = BOOTSTRAP,
): Promise<void> {
  return withPartitionEnds(topic, brokers, (admin, ends) =>
    admin.deleteTopicRecords({
      topic,
      partitions: ends.map((end) => ({ partition: end.partition, offset: String(offset(end.partition)) })),
    }),
  )
}

/** Produces messages with explicit keys (for tests of what a producer may get wrong). */
export async function produceKeyed(
  topic: string,
  messages: { key: string; value: string }[],
  brokers = BOOTSTRAP,
): Promise<void> {
  const producer = testKafka(brokers).producer()
  await producer.connect()
  try {
    await whenBrokerReady(() => producer.send({ topic, acks: -1, messages }))
  } finally {
    await producer.disconnect()
  }
}
