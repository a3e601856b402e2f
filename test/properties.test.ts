import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import fc from 'fast-check'
import { analyze } from './support/analyze.ts'
import { eventLine } from './support/arbitraries.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

describe('properties', () => {
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
