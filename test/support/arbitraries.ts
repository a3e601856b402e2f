// fast-check generators of event streams for the property and oracle tests.
import fc from 'fast-check'

const DAY = 86_400_000
const START = Date.UTC(2026, 0, 1)

/** Small streams over few items and days, so ids, days and items collide often. */
export const eventLine = fc
  .record({
    id: fc.integer({ min: 1, max: 40 }),
    type: fc.constantFrom('sale', 'sale', 'sale', 'return', 'restock', 'adjustment', 'stock_count'),
    sku: fc.constantFrom('A', 'B'),
    warehouse: fc.constantFrom('W1', 'W2'),
    quantity: fc.integer({ min: 1, max: 30 }),
    negative: fc.boolean(),
    offset: fc.integer({ min: 0, max: 45 * DAY }),
    onHand: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 5 }),
    leadTime: fc.option(fc.integer({ min: 1, max: 20 }), { freq: 8 }),
    malformed: fc.boolean(),
  })
  .map((e) => {
    if (e.malformed && e.id % 7 === 0) return '{"event_id": "broken"'
    const quantity = e.type === 'adjustment' && e.negative ? -e.quantity : e.quantity
    const event: Record<string, unknown> = {
      event_id: `e${e.id}`,
      event_type: e.type,
      sku: e.sku,
      warehouse_id: e.warehouse,
      quantity,
      timestamp: e.offset % 2 === 0 ? START + e.offset : new Date(START + e.offset).toISOString(),
    }
    if (e.onHand !== null) event.on_hand = e.onHand
    if (e.leadTime !== null) event.lead_time_days = e.leadTime
    return JSON.stringify(event)
  })
