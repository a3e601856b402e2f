// Where a partition's messages are taken from. PostgreSQL, not Kafka, holds the positions: a fetch
// is processed only from the offset the partition's engine stands at (the last commit, or the end
// of the batches processed since); otherwise the consumer is moved there.
import type { Batch as KafkaBatch, KafkaMessage } from 'kafkajs'

export type FetchPlan =
  | { action: 'process'; messages: KafkaMessage[] }
  /** Kafka's position is not the engine's: move the consumer there. */
  | { action: 'seek'; offset: number }
  /** Nothing new in this fetch. */
  | { action: 'skip' }

/**
 * What to do with a fetch whose messages start at `fetchedFrom`, for an engine that expects offset
 * `expected` next (null: nothing committed yet, take the fetch as it is).
 */
export function planFetch(expected: number | null, messages: KafkaMessage[], fetchedFrom: number): FetchPlan {
  const fresh = expected === null ? messages : messages.filter((m) => Number(m.offset) >= expected)
  const first = fresh[0]
  if (expected !== null && (first === undefined || Number(first.offset) > expected)) {
    // Kafka's position differs from the engine's: behind it (Kafka's copy of the offsets lags) or
    // ahead of it. Either way go to the engine's, unless this fetch started there and the offsets in
    // between are simply absent (transaction markers, compaction).
    if (first === undefined || fetchedFrom !== expected) return { action: 'seek', offset: expected }
  }
  return first === undefined ? { action: 'skip' } : { action: 'process', messages: fresh }
}

/** The offset a kafkajs batch was fetched from (on the Batch object, though not in its type). */
export function fetchedOffset(batch: KafkaBatch): number {
  return Number((batch as unknown as { fetchedOffset: string }).fetchedOffset)
}

/** The batches of BATCH_SIZE messages a fetch is cut into (the last may be shorter). */
export function* batchesOf<T>(messages: readonly T[], batchSize: number): Generator<T[]> {
  for (let start = 0; start < messages.length; start += batchSize)
    yield messages.slice(start, start + batchSize)
}
