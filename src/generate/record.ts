// What the generator hands to writers: SPEC §2 events as plain JSON-ready objects
// (snake_case, exactly the wire fields), or malformed lines meant to be rejected.
import type { EventType, RejectionCode } from '../core/event.ts'

export interface EventRecord {
  event_id: string
  event_type: EventType
  sku: string
  warehouse_id: string
  quantity: number
  /** ISO-8601 with a zone, or integer epoch milliseconds, as a real mix of producers would send. */
  timestamp: string | number
  on_hand?: number
  lead_time_days?: number
  /** On a purchase_order (required) and on most receipts of an announced order. */
  order_id?: string
  /** On most purchase_orders: when the goods are expected, ISO-8601 with a zone. */
  expected_at?: string
}

/** One row of the Parquet event file; null stands for an absent field. */
export interface EventRow {
  event_id: string | null
  event_type: string | null
  sku: string | null
  warehouse_id: string | null
  quantity: number | null
  /** ISO string, or epoch milliseconds written as a decimal string (the original form is kept). */
  timestamp: string | null
  on_hand: number | null
  lead_time_days: number | null
  order_id: string | null
  expected_at: string | null
}

export type GeneratedLine = EventLine | MalformedLine

export interface EventLine {
  kind: 'event'
  record: EventRecord
  /** Event time, epoch milliseconds. */
  ms: number
  /** A deliberate resend of an event already written earlier in the stream. */
  duplicate: boolean
  /** Written later than its event time says (out of order). */
  late: boolean
}

export interface MalformedLine {
  kind: 'malformed'
  reason: string
  /** The SPEC §2 rejection code a validator must give the JSONL text. */
  expectedCode: RejectionCode
  /** The JSONL text (not necessarily JSON at all). */
  text: string
  /** The closest Parquet can come: a row with an invalid value, as text-level damage cannot be stored. */
  row: EventRow
}

/** The exact JSONL text of a line, without the newline. */
export function lineText(line: GeneratedLine): string {
  return line.kind === 'event' ? recordJson(line.record) : line.text
}

/**
 * JSON.stringify(record), written out by hand because it is the hot spot of a large run
 * (about twice as fast). Sound only because every string the generator puts in a record
 * (ids, names, event types, ISO times) is plain ASCII without quotes, backslashes or control
 * characters; the tests compare it with JSON.stringify.
 */
export function recordJson(record: EventRecord): string {
  const time = record.timestamp
  let text = `{"event_id":"${record.event_id}","event_type":"${record.event_type}","sku":"${record.sku}","warehouse_id":"${record.warehouse_id}","quantity":${record.quantity},"timestamp":${typeof time === 'number' ? time : `"${time}"`}`
  if (record.on_hand !== undefined) text += `,"on_hand":${record.on_hand}`
  if (record.lead_time_days !== undefined) text += `,"lead_time_days":${record.lead_time_days}`
  if (record.order_id !== undefined) text += `,"order_id":"${record.order_id}"`
  if (record.expected_at !== undefined) text += `,"expected_at":"${record.expected_at}"`
  return `${text}}`
}

export function recordToRow(record: EventRecord): EventRow {
  return {
    event_id: record.event_id,
    event_type: record.event_type,
    sku: record.sku,
    warehouse_id: record.warehouse_id,
    quantity: record.quantity,
    // A Parquet string column cannot hold SPEC §2's integer form, and a string of digits is not an
    // ISO timestamp: epoch milliseconds are written as the same instant in ISO form.
    timestamp:
      typeof record.timestamp === 'number' ? new Date(record.timestamp).toISOString() : record.timestamp,
    on_hand: record.on_hand ?? null,
    lead_time_days: record.lead_time_days ?? null,
    order_id: record.order_id ?? null,
    expected_at: record.expected_at ?? null,
  }
}
