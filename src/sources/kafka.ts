// Kafka messages as events: the message value is the JSON event of SPEC §2.
import type { KafkaMessage } from 'kafkajs'
import { itemKey, type ParseResult, parseEvent } from '../core/event.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses a message value; a missing value or bytes that are not UTF-8 are rejected like bad JSON,
 * and an event whose message key is not its item's (SPEC §2) is rejected as `key_mismatch`.
 */
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
  const parsed = parseEvent(text)
  if (!parsed.ok) return parsed
  // Each item's state lives with its partition; a differently keyed event could land elsewhere
  // and be counted against a second, empty copy of the item.
  const expected = itemKey(parsed.event.sku, parsed.event.warehouseId)
  const key = message.key?.toString() ?? null
  if (key !== expected) {
    return {
      ok: false,
      rejection: {
        code: 'key_mismatch',
        message: `message key ${JSON.stringify(key)} is not "{sku}:{warehouse_id}" = ${JSON.stringify(expected)}`,
      },
    }
  }
  return parsed
}
