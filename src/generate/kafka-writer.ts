// Kafka output of `invpipe generate` (SPEC §1: "files or Kafka"): each line one message, keyed
// `{sku}:{warehouse_id}` as SPEC §2 asks, so an item's events keep their order in one partition.
// The producer is idempotent with one request in flight: a retried send neither duplicates nor
// reorders, and the stream on the topic is the generated stream, line for line. Its requests are
// retried without a count limit (a limit would void the idempotence, kafkajs warns), so a broker
// that stalls is waited for; one that stays unreachable past the client's reconnection attempts
// (about a minute) stops the run with an error that says how many lines the topic already holds.
import { type Kafka, type Message, Partitioners } from 'kafkajs'
import { type GeneratedLine, lineText } from './record.ts'

/** Messages per send: large enough to amortize the round trip, small enough to stay under message.max.bytes. */
const MESSAGES_PER_SEND = 2000

/** The key a line is produced with; a malformed line without an item goes unkeyed (any partition). */
export function messageKey(line: GeneratedLine): string | null {
  if (line.kind === 'event') return `${line.record.sku}:${line.record.warehouse_id}`
  const { sku, warehouse_id: warehouseId } = line.row
  return sku !== null && warehouseId !== null ? `${sku}:${warehouseId}` : null
}

/** The run stopped part-way: `produced` lines are on the topic, acknowledged. */
export class PartialProduceError extends Error {
  override name = 'PartialProduceError'
  constructor(
    readonly produced: number,
    override readonly cause: Error,
  ) {
    super(cause.message)
  }
}

/** Produces every line to the topic, acknowledged by all in-sync replicas; returns the count. */
export async function produceGenerated(
  kafka: Kafka,
  topic: string,
  lines: Iterable<GeneratedLine>,
): Promise<number> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  await producer.connect()
  let produced = 0
  let messages: Message[] = []
  const send = async () => {
    await producer.send({ topic, acks: -1, messages })
    produced += messages.length
    messages = []
  }
  try {
    for (const line of lines) {
      messages.push({ key: messageKey(line), value: lineText(line) })
      if (messages.length === MESSAGES_PER_SEND) await send()
    }
    if (messages.length > 0) await send()
  } catch (error) {
    throw new PartialProduceError(produced, error as Error)
  } finally {
    // Every acknowledged line is counted already; a failing disconnect must not hide the send's error.
    await producer.disconnect().catch(() => {})
  }
  return produced
}
