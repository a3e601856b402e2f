// Damaged lines of the kinds a real event stream collects, each derived from a real event
// so they look plausible, and each tied to the rejection code SPEC §2 requires for it.
import type { RejectionCode } from '../core/event.ts'
import type { Random } from './random.ts'
import { type EventRecord, type EventRow, type MalformedLine, recordToRow } from './record.ts'

type Damage = (record: EventRecord, rng: Random) => { text: string; row?: EventRow }

interface MalformedKind {
  reason: string
  expectedCode: RejectionCode
  damage: Damage
}

const REQUIRED_FIELDS = ['event_id', 'event_type', 'sku', 'warehouse_id', 'quantity', 'timestamp'] as const

/** Text built by a careless producer: unquoted keys, a trailing comma, single quotes. */
const breakJson: Damage = (record, rng) => {
  const json = JSON.stringify(record)
  const variant = rng.int(0, 2)
  if (variant === 0) return { text: json.replace('"event_id":', 'event_id:') }
  if (variant === 1) return { text: `${json.slice(0, -1)},}` }
  return { text: json.replaceAll('"', "'") }
}

/** A line cut short (a crashed writer, a full disk); a proper prefix of an object is never valid JSON. */
const truncate: Damage = (record, rng) => {
  const json = JSON.stringify(record)
  return { text: json.slice(0, rng.int(1, json.length - 1)) }
}

const dropField: Damage = (record, rng) => {
  const field = rng.pick(REQUIRED_FIELDS)
  const copy: Partial<EventRecord> = { ...record }
  delete copy[field]
  return { text: JSON.stringify(copy), row: { ...recordToRow(record), [field]: null } }
}

/** Overrides fields of the record; JSON text and Parquet row carry the same bad value. */
function withFields(fields: Record<string, unknown>): Damage {
  return (record) => {
    const damaged = { ...record, ...fields }
    return { text: JSON.stringify(damaged), row: recordToRow(damaged as EventRecord) }
  }
}

const badEventType: Damage = (record, rng) =>
  withFields({ event_type: rng.pick(['sold', 'SALE', 'transfer', 'restocked', '']) })(record, rng)

const negativeSale: Damage = (record, rng) =>
  withFields({ event_type: 'sale', quantity: -rng.int(1, 5) })(record, rng)

const zeroAdjustment: Damage = (record, rng) =>
  withFields({ event_type: 'adjustment', quantity: 0 })(record, rng)

/** Timestamps that are not SPEC §2 timestamps at all (no zone, impossible dates, epoch seconds, words). */
const badTimestamp: Damage = (record, rng) => {
  const iso = typeof record.timestamp === 'string' ? record.timestamp.slice(0, 19) : '2026-01-15T10:30:00'
  const choices: (string | number)[] = [
    iso, // local time without a zone
    iso.replace('T', ' ').replaceAll('-', '/'),
    `${iso.slice(0, 5)}13${iso.slice(7)}Z`, // month 13
    `${iso.slice(0, 8)}32${iso.slice(10)}Z`, // day 32
    'yesterday',
    1767225600.5, // epoch seconds with a fraction, not integer milliseconds
  ]
  return withFields({ timestamp: rng.pick(choices) })(record, rng)
}

const year1999: Damage = (record, rng) => {
  const iso =
    typeof record.timestamp === 'string' ? record.timestamp : new Date(record.timestamp).toISOString()
  // Mid-June, so no zone offset can carry it into the year 2000.
  return withFields({ timestamp: `1999-06-15${iso.slice(10)}` })(record, rng)
}

const badSku: Damage = (record, rng) => {
  const sku = rng.pick([
    `${record.sku} `,
    `${record.sku}#2`,
    record.sku.replace('-', ' '),
    `${record.sku}ü`,
    'SKU*1',
  ])
  return withFields({ sku })(record, rng)
}

const negativeOnHand: Damage = (record, rng) => withFields({ on_hand: -rng.int(1, 20) })(record, rng)

const leadTimeOutOfRange: Damage = (record, rng) =>
  withFields({ lead_time_days: rng.pick([0, 400]) })(record, rng)

const schemaVersion2: Damage = (record) => ({ text: JSON.stringify({ ...record, schema_version: 2 }) })

/** The record as a purchase order, for the damage only a purchase order can have. */
function asPurchaseOrder(record: EventRecord): EventRecord {
  return {
    ...record,
    event_type: 'purchase_order',
    quantity: Math.abs(record.quantity),
    order_id: record.order_id ?? `PO-${record.event_id}`,
  }
}

/** An order exported without its id: the field dropped, null, or empty. */
const purchaseOrderWithoutId: Damage = (record, rng) => {
  const order = asPurchaseOrder(record)
  const variant = rng.int(0, 2)
  if (variant === 0) {
    const { order_id: _, ...rest } = order
    return { text: JSON.stringify(rest), row: { ...recordToRow(order), order_id: null } }
  }
  return withFields({ order_id: variant === 1 ? null : '' })(order, rng)
}

/** expected_at that is no SPEC §2 time: no zone, impossible dates, words, out of range (strings only, so Parquet can hold them). */
const badExpectedAt: Damage = (record, rng) => {
  const expected = rng.pick([
    '2026-03-01T10:00:00',
    '2026-13-01T10:00:00Z',
    '2026-02-01T25:00:00Z',
    'next week',
    '',
    '1999-06-15T10:00:00Z',
  ])
  return withFields({ expected_at: expected })(asPurchaseOrder(record), rng)
}

const negativeOrderQuantity: Damage = (record, rng) =>
  withFields({ quantity: -rng.int(1, 500) })(asPurchaseOrder(record), rng)

const KINDS: readonly MalformedKind[] = [
  { reason: 'invalid JSON', expectedCode: 'invalid_json', damage: breakJson },
  { reason: 'truncated line', expectedCode: 'invalid_json', damage: truncate },
  { reason: 'missing field', expectedCode: 'missing_field', damage: dropField },
  { reason: 'bad event_type', expectedCode: 'invalid_event_type', damage: badEventType },
  { reason: 'negative sale quantity', expectedCode: 'invalid_quantity', damage: negativeSale },
  { reason: 'zero adjustment', expectedCode: 'invalid_quantity', damage: zeroAdjustment },
  { reason: 'bad timestamp', expectedCode: 'invalid_timestamp', damage: badTimestamp },
  { reason: 'year 1999', expectedCode: 'timestamp_out_of_range', damage: year1999 },
  { reason: 'bad sku characters', expectedCode: 'invalid_sku', damage: badSku },
  { reason: 'negative on_hand', expectedCode: 'invalid_on_hand', damage: negativeOnHand },
  { reason: 'lead_time_days out of range', expectedCode: 'invalid_lead_time', damage: leadTimeOutOfRange },
  { reason: 'schema_version 2', expectedCode: 'unsupported_schema_version', damage: schemaVersion2 },
  {
    reason: 'purchase_order without order_id',
    expectedCode: 'invalid_order_id',
    damage: purchaseOrderWithoutId,
  },
  { reason: 'bad expected_at', expectedCode: 'invalid_expected_at', damage: badExpectedAt },
  { reason: 'negative order quantity', expectedCode: 'invalid_quantity', damage: negativeOrderQuantity },
]

export const MALFORMED_REASONS: readonly string[] = KINDS.map((kind) => kind.reason)

/**
 * Parquet cannot hold broken JSON or an unknown column; such lines become a sale with a
 * negative quantity instead, so the Parquet file still carries a rejectable row.
 */
function parquetStandIn(record: EventRecord): EventRow {
  return { ...recordToRow(record), event_type: 'sale', quantity: -Math.max(1, Math.abs(record.quantity)) }
}

/** A malformed line made from `template`, under a fresh event id. */
export function makeMalformedLine(template: EventRecord, eventId: string, rng: Random): MalformedLine {
  const kind = rng.pick(KINDS)
  const record: EventRecord = { ...template, event_id: eventId }
  const { text, row } = kind.damage(record, rng)
  return {
    kind: 'malformed',
    reason: kind.reason,
    expectedCode: kind.expectedCode,
    text,
    row: row ?? parquetStandIn(record),
  }
}
