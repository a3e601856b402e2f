// Kafka outputs: alerts to ALERT_TOPIC (keyed by item) and rejected messages to DLQ_TOPIC
// (original bytes, with the reason and where they came from in headers).
import { createHash } from 'node:crypto'
import type { KafkaMessage, Message, Producer } from 'kafkajs'
import { type Alert, alertRecord } from '../core/alerts.ts'
import type { Rejection } from '../core/event.ts'
import { log } from '../log.ts'

export const DLQ_HEADERS = {
  code: 'invpipe-rejection-code',
  message: 'invpipe-rejection-message',
  topic: 'invpipe-source-topic',
  partition: 'invpipe-source-partition',
  offset: 'invpipe-source-offset',
  /** On a letter too large for the topic, sent cut short: `message_too_large`. */
  truncated: 'invpipe-truncated',
  /** The original value's size in bytes and its SHA-256 (hex), on a truncated letter. */
  originalSize: 'invpipe-original-size',
  originalSha256: 'invpipe-original-sha256',
} as const

/** What a truncated letter keeps of the original value and key. */
export const TRUNCATED_VALUE_BYTES = 16 * 1024
const TRUNCATED_KEY_BYTES = 1024

/** How long the broker may wait for the in-sync replicas of a send (below the request timeout). */
const SEND_TIMEOUT_MS = 8_000

export function deadLetter(
  source: { topic: string; partition: number },
  message: KafkaMessage,
  rejection: Rejection,
): Message {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [DLQ_HEADERS.code]: rejection.code,
      [DLQ_HEADERS.message]: rejection.message,
      [DLQ_HEADERS.topic]: source.topic,
      [DLQ_HEADERS.partition]: String(source.partition),
      [DLQ_HEADERS.offset]: message.offset,
    },
  }
}

export interface OutgoingAlert {
  /** The episode the message belongs to (SPEC §6): several messages share it. */
  alertId: string
  /** `{alert_id}:{n}`: the message's own identity. */
  messageId: string
  key: string
  /** The JSON text, serialised once: a re-sent message is byte for byte the first one. */
  value: string
}

/** An alert message as the Kafka message it becomes: keyed by item, the SPEC §6 record as JSON. */
export function outgoingAlert(alert: Alert, generatedAt: number): OutgoingAlert {
  return {
    alertId: alert.alertId,
    messageId: alert.messageId,
    key: `${alert.sku}:${alert.warehouseId}`,
    value: JSON.stringify(alertRecord(alert, generatedAt)),
  }
}

/** Kafka headers naming the message, so consumers can route or deduplicate without parsing the value. */
export const ALERT_HEADERS = { alertId: 'alert-id', messageId: 'message-id' } as const

/**
 * Sends alert messages, in the order given (an episode's messages keep their order: one key, one
 * partition), and waits for all in-sync replicas: a message is only marked sent once it is safe.
 */
export async function sendAlerts(
  producer: Producer,
  topic: string,
  alerts: readonly OutgoingAlert[],
): Promise<void> {
  for (const part of partsOfAtMost(alerts, ALERT_SEND_BYTES, alertBytes))
    await producer.send({
      topic,
      acks: -1,
      timeout: SEND_TIMEOUT_MS,
      messages: part.map((alert) => ({
        key: alert.key,
        value: alert.value,
        headers: { [ALERT_HEADERS.alertId]: alert.alertId, [ALERT_HEADERS.messageId]: alert.messageId },
      })),
    })
}

/**
 * The bytes of alerts one send holds at most: a send's messages for one partition travel as one
 * record batch, which the broker refuses above its message.max.bytes (1 MiB by default), and the
 * outbox a run catches up on after an outage holds thousands of them.
 */
const ALERT_SEND_BYTES = 256 * 1024

function alertBytes(alert: OutgoingAlert): number {
  // Headers and record framing: well under a hundred bytes besides these.
  return 100 + alert.key.length + alert.value.length + alert.alertId.length + alert.messageId.length
}

/** Consecutive parts of `items`, each of at most `limit` bytes (or a single item larger than it). */
export function partsOfAtMost<T>(items: readonly T[], limit: number, bytes: (item: T) => number): T[][] {
  const parts: T[][] = []
  let part: T[] = []
  let size = 0
  for (const item of items) {
    const itemSize = bytes(item)
    if (part.length > 0 && size + itemSize > limit) {
      parts.push(part)
      part = []
      size = 0
    }
    part.push(item)
    size += itemSize
  }
  if (part.length > 0) parts.push(part)
  return parts
}

/**
 * Sends dead letters, and returns how many had to be truncated. A send the broker refuses as too
 * large (MESSAGE_TOO_LARGE: the letters together, or one letter whose headers took it over the
 * limit) is split in halves down to single letters; a single letter still too large is sent
 * truncated (see truncatedLetter), so that a poison message never blocks its partition.
 */
export async function sendDeadLetters(
  producer: Producer,
  topic: string,
  messages: Message[],
): Promise<number> {
  if (messages.length === 0) return 0
  try {
    await producer.send({ topic, acks: -1, timeout: SEND_TIMEOUT_MS, messages })
    return 0
  } catch (error) {
    if (!isTooLarge(error)) throw error
  }
  if (messages.length > 1) {
    const half = Math.ceil(messages.length / 2)
    return (
      (await sendDeadLetters(producer, topic, messages.slice(0, half))) +
      (await sendDeadLetters(producer, topic, messages.slice(half)))
    )
  }
  const original = messages[0] as Message
  const letter = truncatedLetter(original, TRUNCATED_VALUE_BYTES)
  try {
    await producer.send({ topic, acks: -1, timeout: SEND_TIMEOUT_MS, messages: [letter] })
  } catch (error) {
    // A topic whose limit is below even the cut value: the headers alone say what it was.
    if (!isTooLarge(error)) throw error
    await producer.send({
      topic,
      acks: -1,
      timeout: SEND_TIMEOUT_MS,
      messages: [truncatedLetter(original, 0)],
    })
  }
  log.warn('dead letter too large for the topic: sent truncated', {
    topic,
    source_partition: headerText(original.headers?.[DLQ_HEADERS.partition]),
    source_offset: headerText(original.headers?.[DLQ_HEADERS.offset]),
    original_size: Number(letter.headers?.[DLQ_HEADERS.originalSize]),
  })
  return 1
}

/**
 * A dead letter cut to fit: the first `keep` bytes of the value, the key cut to 1 KiB, the
 * rejection and source headers, plus `invpipe-truncated: message_too_large` and the original
 * value's size and SHA-256, by which the original can be found (and checked) on the source topic
 * at the offset the headers give. The producer's own headers are left out: they may be what made
 * the letter too large.
 */
export function truncatedLetter(letter: Message, keep: number): Message {
  const value = bytesOf(letter.value)
  const key = bytesOf(letter.key)
  const headers: Record<string, string> = {}
  for (const name of [
    DLQ_HEADERS.code,
    DLQ_HEADERS.message,
    DLQ_HEADERS.topic,
    DLQ_HEADERS.partition,
    DLQ_HEADERS.offset,
  ]) {
    const text = headerText(letter.headers?.[name])
    if (text !== undefined) headers[name] = text.slice(0, 1000)
  }
  headers[DLQ_HEADERS.truncated] = 'message_too_large'
  headers[DLQ_HEADERS.originalSize] = String(value.length)
  headers[DLQ_HEADERS.originalSha256] = createHash('sha256').update(value).digest('hex')
  return {
    key: key.length === 0 && letter.key == null ? null : key.subarray(0, TRUNCATED_KEY_BYTES),
    value: value.subarray(0, keep),
    headers,
  }
}

function bytesOf(value: Message['value'] | Message['key']): Buffer {
  if (value === null || value === undefined) return Buffer.alloc(0)
  return typeof value === 'string' ? Buffer.from(value) : Buffer.from(value)
}

function headerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value)) return headerText(value[0])
  return Buffer.isBuffer(value) ? value.toString() : String(value)
}

/** The broker refused a send for its size (anywhere along the error's causes). */
export function isTooLarge(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && e !== undefined && depth < 5; depth++) {
    const type = (e as { type?: unknown }).type
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}
