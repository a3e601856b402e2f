// Kafka messages as events: the message value is the JSON event of SPEC §2.
import type { KafkaMessage } from 'kafkajs'
import { type ParseResult, parseEvent } from '../core/event.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Parses a message value; a missing value or bytes that are not UTF-8 are rejected like bad JSON. */
export function parseMessage(message: KafkaMessage): ParseResult {
  if (message.value === null || message.value.length === 0) {
    return { ok: false, rejection: { code: 'invalid_json', message: 'empty message value' } }
  }
  let text: string
  try {
    text = utf8.decode(message.value)
  } catch {
    return { ok: false, rejection: { code: 'invalid_json', message: 'message value is not UTF-8' } }
  }
  return parseEvent(text)
}
