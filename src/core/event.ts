// SPEC §2: the inventory event (schema version 1) and the rules that accept or reject it.
import { parseTimestamp } from './time.ts'

export const EVENT_TYPES = [
  'sale',
  'return',
  'restock',
  'adjustment',
  'stock_count',
  'purchase_order',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

export interface InventoryEvent {
  eventId: string
  type: EventType
  sku: string
  warehouseId: string
  quantity: number
  /** Event time, epoch milliseconds. */
  ts: number
  onHand: number | null
  leadTimeDays: number | null
  /** The order a `purchase_order` places or changes, or a `restock` receives; null on other types. */
  orderId: string | null
  /** When a `purchase_order`'s goods are expected, epoch ms; null: the item's lead time decides. */
  expectedAt: number | null
}

/** Stable, machine-readable rejection codes. */
export const REJECTION_CODES = [
  'invalid_json',
  'not_an_object',
  'missing_field',
  'invalid_event_id',
  'invalid_event_type',
  'invalid_sku',
  'invalid_warehouse_id',
  'invalid_quantity',
  'invalid_timestamp',
  'timestamp_out_of_range',
  'invalid_on_hand',
  'invalid_lead_time',
  'unsupported_schema_version',
  'invalid_order_id',
  'invalid_expected_at',
  // Kafka only: the message key is not the event's {sku}:{warehouse_id}.
  'key_mismatch',
] as const
export type RejectionCode = (typeof REJECTION_CODES)[number]

export interface Rejection {
  code: RejectionCode
  message: string
}

export type ParseResult = { ok: true; event: InventoryEvent } | { ok: false; rejection: Rejection }

const REQUIRED_FIELDS = ['event_id', 'event_type', 'sku', 'warehouse_id', 'quantity', 'timestamp'] as const
const IDENTIFIER = /^[A-Za-z0-9._\-/]{1,64}$/
const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES)

/** The Kafka message key of SPEC §2, also the item's identity. */
export function itemKey(sku: string, warehouseId: string): string {
  return `${sku}:${warehouseId}`
}

/** The (sku, warehouse_id) of an item key; unambiguous because a sku cannot contain ':'. */
export function splitItemKey(key: string): [sku: string, warehouseId: string] {
  const colon = key.indexOf(':')
  return [key.slice(0, colon), key.slice(colon + 1)]
}

/** Parses one JSON text (a JSONL line or a Kafka message value) into an accepted event or a rejection. */
export function parseEvent(text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return reject('invalid_json', `not valid JSON: ${(error as Error).message}`)
  }
  return validateEvent(value)
}

/** Validates an already-decoded record (a JSON object or a Parquet row). */
export function validateEvent(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject('not_an_object', 'an event must be a JSON object')
  }
  const record = value as Record<string, unknown>
  for (const field of REQUIRED_FIELDS) {
    if (record[field] === undefined || record[field] === null) {
      return reject('missing_field', `required field "${field}" is missing`)
    }
  }
  const version = record.schema_version
  if (version !== undefined && version !== null && version !== 1) {
    return reject(
      'unsupported_schema_version',
      `schema_version ${JSON.stringify(version)} is not supported (only 1)`,
    )
  }
  const eventId = record.event_id
  if (typeof eventId !== 'string' || eventId.length === 0 || codePointLength(eventId) > 128) {
    return reject('invalid_event_id', 'event_id must be a string of 1 to 128 characters')
  }
  const type = record.event_type
  if (typeof type !== 'string' || !EVENT_TYPE_SET.has(type)) {
    return reject('invalid_event_type', `event_type must be one of ${EVENT_TYPES.join(', ')}`)
  }
  const sku = record.sku
  if (typeof sku !== 'string' || !IDENTIFIER.test(sku)) {
    return reject('invalid_sku', 'sku must be 1 to 64 characters of A-Z a-z 0-9 . _ - /')
  }
  const warehouseId = record.warehouse_id
  if (typeof warehouseId !== 'string' || !IDENTIFIER.test(warehouseId)) {
    return reject('invalid_warehouse_id', 'warehouse_id must be 1 to 64 characters of A-Z a-z 0-9 . _ - /')
  }
  const quantityProblem = checkQuantity(type as EventType, record.quantity)
  if (quantityProblem !== null) return reject('invalid_quantity', quantityProblem)
  const time = parseTimestamp(record.timestamp)
  if (!time.ok) {
    return time.reason === 'range'
      ? reject('timestamp_out_of_range', 'timestamp must fall in the years 2000 to 2099 (UTC)')
      : reject(
          'invalid_timestamp',
          'timestamp must be ISO-8601 with a zone (Z or ±hh:mm) or integer epoch milliseconds',
        )
  }
  const onHand = optionalNumber(record.on_hand)
  if (onHand === undefined || (onHand !== null && (onHand < 0 || onHand > MAX_MAGNITUDE))) {
    return reject('invalid_on_hand', 'on_hand must be a finite number from 0 to 1e12')
  }
  const leadTime = optionalNumber(record.lead_time_days)
  if (leadTime === undefined || (leadTime !== null && !(leadTime > 0 && leadTime <= 365))) {
    return reject('invalid_lead_time', 'lead_time_days must be a finite number with 0 < x <= 365')
  }
  const orderId = record.order_id
  const ordersSomething = type === 'purchase_order' || type === 'restock'
  if (ordersSomething && !validOrderId(orderId, type === 'purchase_order')) {
    return reject(
      'invalid_order_id',
      'order_id must be a string of 1 to 128 characters (required on a purchase_order)',
    )
  }
  let expectedAt: number | null = null
  if (type === 'purchase_order' && record.expected_at !== undefined && record.expected_at !== null) {
    const expected = parseTimestamp(record.expected_at)
    if (!expected.ok) {
      return reject(
        'invalid_expected_at',
        'expected_at must be like timestamp: ISO-8601 with a zone or epoch milliseconds, in the years 2000 to 2099',
      )
    }
    expectedAt = expected.ms
  }
  return {
    ok: true,
    event: {
      eventId,
      type: type as EventType,
      sku,
      warehouseId,
      quantity: record.quantity as number,
      ts: time.ms,
      onHand,
      leadTimeDays: leadTime,
      orderId: ordersSomething && typeof orderId === 'string' ? orderId : null,
      expectedAt,
    },
  }
}

/**
 * The largest quantity or on-hand accepted, in units. SPEC §2 only asks for finite numbers, but a sale
 * of 1e200 overflows the variance to Infinity and two restocks of 1.7e308 overflow on-hand: results
 * that no store can hold. 1e12 units is far beyond any real stock level.
 */
export const MAX_MAGNITUDE = 1e12

function checkQuantity(type: EventType, quantity: unknown): string | null {
  if (typeof quantity !== 'number' || !Number.isFinite(quantity)) return 'quantity must be a finite number'
  if (Math.abs(quantity) > MAX_MAGNITUDE) return 'quantity must be at most 1e12 in magnitude'
  switch (type) {
    case 'sale':
    case 'return':
    case 'restock':
      return quantity > 0 ? null : `quantity of a ${type} must be > 0`
    case 'adjustment':
      return quantity !== 0 ? null : 'quantity of an adjustment must be non-zero'
    case 'stock_count':
      return quantity >= 0 ? null : 'quantity of a stock_count (the counted level) must be >= 0'
    case 'purchase_order':
      return quantity >= 0 ? null : 'quantity of a purchase_order (units ordered; 0 cancels) must be >= 0'
  }
}

/** Required on a purchase_order; optional (absent or null) on a restock. */
function validOrderId(value: unknown, required: boolean): boolean {
  if (value === undefined || value === null) return !required
  return typeof value === 'string' && value.length > 0 && codePointLength(value) <= 128
}

/** An optional numeric field: absent or null → null; a finite number → itself; anything else → undefined. */
function optionalNumber(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function codePointLength(text: string): number {
  // Only strings longer than 128 UTF-16 units can be over the limit; count code points for those alone.
  if (text.length <= 128) return text.length
  let count = 0
  for (const _ of text) count++
  return count
}

function reject(code: RejectionCode, message: string): ParseResult {
  return { ok: false, rejection: { code, message } }
}
