// fast-check generators of event streams for the property and oracle tests.
import fc from 'fast-check'

const DAY = 86_400_000
const HOUR = 3_600_000
const START = Date.UTC(2026, 0, 1)
/** Few order ids, so that orders are changed, cancelled, received twice and received before they are placed. */
const ORDER_IDS = ['P1', 'P2', 'P3', 'P4'] as const

/**
 * Small streams over few items and days, so ids, days and items collide often: sales, returns,
 * restocks (with an order_id or without), adjustments, stock counts and purchase orders (placed,
 * changed, cancelled with quantity 0, expected before or after their time, sometimes more than 90
 * days back so that settled orders are forgotten), with a few malformed lines and invalid fields.
 */
const eventFields = fc.record({
  id: fc.integer({ min: 1, max: 40 }),
  type: fc.constantFrom(
    'sale',
    'sale',
    'sale',
    'return',
    'restock',
    'restock',
    'adjustment',
    'stock_count',
    'purchase_order',
    'purchase_order',
  ),
  sku: fc.constantFrom('A', 'B'),
  warehouse: fc.constantFrom('W1', 'W2'),
  quantity: fc.integer({ min: 1, max: 30 }),
  negative: fc.boolean(),
  offset: fc.integer({ min: 0, max: 45 * DAY }),
  onHand: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 5 }),
  leadTime: fc.option(fc.integer({ min: 1, max: 20 }), { freq: 8 }),
  malformed: fc.boolean(),
  orderId: fc.option(fc.constantFrom(...ORDER_IDS), { freq: 2 }),
  /** Days from the event to its expected_at; null: the default (time + lead time). */
  expectedIn: fc.option(
    fc.oneof(
      { arbitrary: fc.integer({ min: -3, max: 25 }), weight: 3 },
      { arbitrary: fc.integer({ min: -120, max: -85 }), weight: 1 },
    ),
    { freq: 3 },
  ),
  expectedHour: fc.integer({ min: 0, max: 23 }),
  /** 0 … 9: 0 cancels a purchase order; 1 makes one field of it invalid. */
  variant: fc.integer({ min: 0, max: 9 }),
})

type EventFields = typeof eventFields extends fc.Arbitrary<infer T> ? T : never

export const eventLine = eventFields.map((e) => lineOf(e, 1))

/**
 * The same streams with the quantities and stock levels of some events in tenths or quarters of a
 * unit: sums of tenths are not exact in floating point, so rounding reaches the rules that compare
 * with 0 or round up.
 */
export const fractionalEventLine = fc
  .tuple(eventFields, fc.constantFrom(1, 10, 4))
  .map(([e, divisor]) => lineOf(e, divisor))

/**
 * The same streams with each event's quantity and on-hand scaled by its own power of ten, from a
 * billionth of a unit to 3e10 (30 of them: 9e11, within the validation's 1e12): a stream mixes
 * dust-sized sales with write-offs of near a trillion units, where variances dwarf means.
 */
export const extremeEventLine = fc
  .tuple(eventFields, fc.constantFrom(1e-9, 1e-3, 1, 1e3, 1e6, 1e9, 3e10))
  .map(([e, scale]) => lineOf(e, 1 / scale))

/** The JSON line of one generated event; quantities and on-hand divided by `divisor`. */
function lineOf(e: EventFields, divisor: number): string {
  if (e.malformed && e.id % 7 === 0) return '{"event_id": "broken"'
  const quantity = (e.type === 'adjustment' && e.negative ? -e.quantity : e.quantity) / divisor
  const event: Record<string, unknown> = {
    event_id: `e${e.id}`,
    event_type: e.type,
    sku: e.sku,
    warehouse_id: e.warehouse,
    quantity,
    timestamp: e.offset % 2 === 0 ? START + e.offset : new Date(START + e.offset).toISOString(),
  }
  if (e.onHand !== null) event.on_hand = e.onHand / divisor
  if (e.leadTime !== null) event.lead_time_days = e.leadTime
  if (e.type === 'purchase_order') {
    event.order_id = e.orderId ?? ORDER_IDS[e.id % ORDER_IDS.length]
    if (e.variant === 0) event.quantity = 0
    if (e.expectedIn !== null) {
      const at = START + e.offset - (e.offset % DAY) + e.expectedIn * DAY + e.expectedHour * HOUR
      event.expected_at = e.expectedHour % 2 === 0 ? at : new Date(at).toISOString()
    }
    if (e.variant === 1) {
      // One broken field: invalid_quantity, invalid_order_id or invalid_expected_at.
      if (e.negative) event.quantity = -quantity
      else if (e.id % 2 === 0) event.order_id = e.id % 4 === 0 ? '' : e.id
      else event.expected_at = e.id % 3 === 0 ? 'soon' : '1999-12-31T23:00:00Z'
    }
  } else if (e.orderId !== null) {
    // On a restock the receipt's order; on other types ignored, even when it is not a string.
    event.order_id = e.type !== 'restock' && e.variant === 1 ? 7 : e.orderId
    if (e.type === 'restock' && e.variant === 1) event.order_id = e.negative ? null : ''
    if (e.expectedIn !== null) event.expected_at = 'ignored unless on a purchase_order'
  }
  return JSON.stringify(event)
}
