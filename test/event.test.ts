import { describe, expect, test } from 'bun:test'
import type { KafkaMessage } from 'kafkajs'
import { parseEvent, REJECTION_CODES } from '../src/core/event.ts'
import { parseTimestamp } from '../src/core/time.ts'
import { parseMessage } from '../src/sources/kafka.ts'

const base = {
  event_id: 'e1',
  event_type: 'sale',
  sku: 'SKU-1',
  warehouse_id: 'W/1',
  quantity: 2,
  timestamp: '2026-03-01T10:00:00Z',
}
const codeOf = (fields: Record<string, unknown>) => {
  const result = parseEvent(JSON.stringify({ ...base, ...fields }))
  return result.ok ? 'accepted' : result.rejection.code
}

describe('timestamps (SPEC §2)', () => {
  test.each([
    ['2026-03-01T10:00:00Z', Date.UTC(2026, 2, 1, 10)],
    ['2026-03-01T10:00Z', Date.UTC(2026, 2, 1, 10)],
    ['2026-03-01t10:00:00z', Date.UTC(2026, 2, 1, 10)],
    ['2026-03-01T10:00:00.5Z', Date.UTC(2026, 2, 1, 10, 0, 0, 500)],
    ['2026-03-01T10:00:00.123456789Z', Date.UTC(2026, 2, 1, 10, 0, 0, 123)],
    ['2026-03-01T10:00:00,25Z', Date.UTC(2026, 2, 1, 10, 0, 0, 250)],
    ['2026-03-01T02:00:00+05:30', Date.UTC(2026, 1, 28, 20, 30)],
    ['2026-02-28T20:00:00-08:00', Date.UTC(2026, 2, 1, 4)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    [1767225600000, Date.UTC(2026, 0, 1)],
  ])('%p is %p ms', (input, ms) => {
    expect(parseTimestamp(input)).toEqual({ ok: true, ms })
  })

  test.each([
    '2026-03-01T10:00:00', // no zone
    '2026-03-01 10:00:00Z',
    '2026-02-29T00:00:00Z', // not a leap year
    '2026-13-01T00:00:00Z',
    '2026-03-01T24:00:00Z',
    '2026-03-01T10:60:00Z',
    '2026-03-01T10:00:00+24:00',
    '2026-03-01T10:00:00+0530',
    '2026-03-01T10:00:00.Z',
    '2026-03-01T10:00:00.1234567890Z',
    '2026-03-01T10:00:00Zjunk',
    '26-03-01T10:00:00Z',
    1767225600000.5,
    '1767225600000',
    true,
  ])('%p is not a timestamp', (input) => {
    expect(parseTimestamp(input)).toEqual({ ok: false, reason: 'format' })
  })

  test('years outside 2000-2099 (UTC) are out of range', () => {
    expect(parseTimestamp('1999-12-31T23:59:59.999Z')).toEqual({ ok: false, reason: 'range' })
    expect(parseTimestamp('2000-01-01T00:30:00+01:00')).toEqual({ ok: false, reason: 'range' })
    expect(parseTimestamp('2100-01-01T00:00:00Z')).toEqual({ ok: false, reason: 'range' })
    expect(parseTimestamp('2099-12-31T23:59:59.999Z')).toEqual({
      ok: true,
      ms: Date.UTC(2099, 11, 31, 23, 59, 59, 999),
    })
    expect(parseTimestamp(Date.UTC(2000, 0, 1) - 1)).toEqual({ ok: false, reason: 'range' })
  })
})

describe('validation (SPEC §2)', () => {
  test('a well-formed event is accepted with every field', () => {
    const result = parseEvent(
      JSON.stringify({ ...base, on_hand: 5, lead_time_days: 3.5, schema_version: 1, extra: 'ignored' }),
    )
    expect(result).toEqual({
      ok: true,
      event: {
        eventId: 'e1',
        type: 'sale',
        sku: 'SKU-1',
        warehouseId: 'W/1',
        quantity: 2,
        ts: Date.UTC(2026, 2, 1, 10),
        onHand: 5,
        leadTimeDays: 3.5,
        orderId: null,
        expectedAt: null,
      },
    })
  })

  test('each rule has its own stable code', () => {
    expect(parseEvent('{"event_id": ').ok).toBe(false)
    expect((parseEvent('{"a":NaN}') as { rejection: { code: string } }).rejection.code).toBe('invalid_json')
    expect((parseEvent('[1,2]') as { rejection: { code: string } }).rejection.code).toBe('not_an_object')
    expect(codeOf({ sku: undefined })).toBe('missing_field')
    expect(codeOf({ timestamp: null })).toBe('missing_field')
    expect(codeOf({ schema_version: 2 })).toBe('unsupported_schema_version')
    expect(codeOf({ schema_version: '1' })).toBe('unsupported_schema_version')
    expect(codeOf({ event_id: '' })).toBe('invalid_event_id')
    expect(codeOf({ event_id: 'x'.repeat(129) })).toBe('invalid_event_id')
    expect(codeOf({ event_id: '€'.repeat(128) })).toBe('accepted')
    expect(codeOf({ event_id: 7 })).toBe('invalid_event_id')
    expect(codeOf({ event_type: 'SALE' })).toBe('invalid_event_type')
    expect(codeOf({ sku: 'a b' })).toBe('invalid_sku')
    expect(codeOf({ sku: 'A:B' })).toBe('invalid_sku')
    expect(codeOf({ sku: 'x'.repeat(65) })).toBe('invalid_sku')
    expect(codeOf({ warehouse_id: 'W#1' })).toBe('invalid_warehouse_id')
    expect(codeOf({ quantity: '2' })).toBe('invalid_quantity')
    expect(codeOf({ quantity: 0 })).toBe('invalid_quantity')
    expect(codeOf({ event_type: 'return', quantity: -1 })).toBe('invalid_quantity')
    expect(codeOf({ event_type: 'restock', quantity: 0 })).toBe('invalid_quantity')
    expect(codeOf({ event_type: 'adjustment', quantity: 0 })).toBe('invalid_quantity')
    expect(codeOf({ event_type: 'adjustment', quantity: -3 })).toBe('accepted')
    expect(codeOf({ event_type: 'stock_count', quantity: 0 })).toBe('accepted')
    expect(codeOf({ event_type: 'stock_count', quantity: -1 })).toBe('invalid_quantity')
    expect(codeOf({ timestamp: '2026-03-01' })).toBe('invalid_timestamp')
    expect(codeOf({ timestamp: '1999-06-01T00:00:00Z' })).toBe('timestamp_out_of_range')
    expect(codeOf({ on_hand: -1 })).toBe('invalid_on_hand')
    // Beyond 1e12 units the statistics overflow (a sale of 1e200 gives an infinite variance).
    expect(codeOf({ quantity: 1e200 })).toBe('invalid_quantity')
    expect(codeOf({ event_type: 'adjustment', quantity: -1.5e12 })).toBe('invalid_quantity')
    expect(codeOf({ quantity: 1e12 })).toBe('accepted')
    expect(codeOf({ on_hand: 1e13 })).toBe('invalid_on_hand')
    expect(codeOf({ on_hand: '5' })).toBe('invalid_on_hand')
    expect(codeOf({ on_hand: null })).toBe('accepted')
    expect(codeOf({ lead_time_days: 0 })).toBe('invalid_lead_time')
    expect(codeOf({ lead_time_days: 365.5 })).toBe('invalid_lead_time')
    expect(codeOf({ lead_time_days: 365 })).toBe('accepted')
  })

  test('every rejection code is reachable and carries a message naming what is wrong', () => {
    const { timestamp: _, ...withoutTimestamp } = base
    const line = (fields: Record<string, unknown>) => JSON.stringify({ ...base, ...fields })
    // One input a code, and a word the message must hold.
    const cases: Record<(typeof REJECTION_CODES)[number], [string, string]> = {
      invalid_json: ['{"event_id": "e1"', 'JSON'],
      not_an_object: ['[1, 2]', 'object'],
      missing_field: [JSON.stringify(withoutTimestamp), 'timestamp'],
      invalid_event_id: [line({ event_id: '' }), 'event_id'],
      invalid_event_type: [line({ event_type: 'theft' }), 'event_type'],
      invalid_sku: [line({ sku: 'SKU 1' }), 'sku'],
      invalid_warehouse_id: [line({ warehouse_id: 'W:1' }), 'warehouse_id'],
      invalid_quantity: [line({ quantity: -1 }), '> 0'],
      invalid_timestamp: [line({ timestamp: 'yesterday' }), 'timestamp'],
      timestamp_out_of_range: [line({ timestamp: '1999-12-31T23:00:00Z' }), '2000'],
      invalid_on_hand: [line({ on_hand: -1 }), 'on_hand'],
      invalid_lead_time: [line({ lead_time_days: 0 }), 'lead_time_days'],
      unsupported_schema_version: [line({ schema_version: 2 }), 'schema_version'],
      invalid_order_id: [line({ event_type: 'purchase_order', order_id: '' }), 'order_id'],
      invalid_expected_at: [
        line({ event_type: 'purchase_order', order_id: 'P', expected_at: 'soon' }),
        'expected_at',
      ],
      key_mismatch: [line({}), 'key'],
    }
    for (const code of REJECTION_CODES) {
      const [input, word] = cases[code]
      const value = Buffer.from(input)
      const result =
        code === 'key_mismatch'
          ? parseMessage({ key: Buffer.from('OTHER:W'), value } as KafkaMessage)
          : parseEvent(input)
      expect([code, result.ok ? 'accepted' : result.rejection.code]).toEqual([code, code])
      if (!result.ok) expect([code, result.rejection.message]).toEqual([code, expect.stringContaining(word)])
    }
  })
})
