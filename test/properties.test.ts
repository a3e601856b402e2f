import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { riskOfStockout } from '../src/core/risk.ts'
import { analyze } from './support/analyze.ts'

const DAY = 86_400_000
const START = Date.UTC(2026, 0, 1)

/** Small streams over few items and days, so ids, days and items collide often. */
const eventLine = fc
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

describe('properties', () => {
  test('stockout risk is in [0, 1] and never rises when on-hand rises', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        fc.double({ min: 0.01, max: 365, noNaN: true }),
        (onHand, extra, mean, sigma, leadTime) => {
          const lower = riskOfStockout(onHand, mean, sigma, leadTime) as number
          const higher = riskOfStockout(onHand + extra, mean, sigma, leadTime) as number
          expect(lower).toBeGreaterThanOrEqual(0)
          expect(lower).toBeLessThanOrEqual(1)
          expect(higher).toBeLessThanOrEqual(lower)
        },
      ),
      { numRuns: 2000 },
    )
  })

  test('final rows, alerts and daily history do not depend on the batch size', () => {
    fc.assert(
      fc.property(fc.array(eventLine, { minLength: 1, maxLength: 60 }), (lines) => {
        const whole = analyze(lines, {}, lines.length)
        for (let batchSize = 1; batchSize < lines.length; batchSize++) {
          const batched = analyze(lines, {}, batchSize)
          expect(batched).toEqual(whole)
        }
      }),
      { numRuns: 150 },
    )
  })

  test('reorder quantity is a whole number >= 0, or null exactly when on-hand is unknown', () => {
    fc.assert(
      fc.property(fc.array(eventLine, { minLength: 1, maxLength: 40 }), (lines) => {
        for (const row of analyze(lines).final) {
          if (row.on_hand === null) expect(row.reorder_quantity).toBeNull()
          else {
            expect(Number.isInteger(row.reorder_quantity)).toBe(true)
            expect(row.reorder_quantity as number).toBeGreaterThanOrEqual(0)
          }
        }
      }),
      { numRuns: 300 },
    )
  })
})
