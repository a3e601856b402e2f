import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import fc from 'fast-check'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import { type Analysis, analyze, firstDifference } from './support/analyze.ts'
import { eventLine, extremeEventLine, fractionalEventLine } from './support/arbitraries.ts'
import { expectSoundRows } from './support/item-events.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

/** Runs random streams at every batch size from 1 to the whole stream, each compared with the whole. */
function sameForEveryBatchSize(
  line: fc.Arbitrary<string>,
  compare: (batched: Analysis, whole: Analysis) => void,
) {
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 60, size: 'max' }), (lines) => {
      const whole = analyze(lines, {}, lines.length)
      for (let batchSize = 1; batchSize < lines.length; batchSize++)
        compare(analyze(lines, {}, batchSize), whole)
    }),
    { numRuns: 150 },
  )
}

describe('properties', () => {
  test('final rows, alerts and daily history do not depend on the batch size', () => {
    sameForEveryBatchSize(eventLine, (batched, whole) => expect(batched).toEqual(whole))
  })

  test('with tenths and quarters of a unit: the same, the daily units but for the last bits of their sums', () => {
    // Daily units add up batch by batch, 0.1 + (0.1 + 1) or (0.1 + 0.1) + 1 (README, "Choices where
    // the spec is silent"); the state sums event by event, so rows and alerts stay exact.
    sameForEveryBatchSize(fractionalEventLine, (batched, whole) => {
      expect({ ...batched, daily: [] }).toEqual({ ...whole, daily: [] })
      expect(firstDifference(batched.daily, whole.daily)).toBeNull()
    })
  })

  test('quantities from 1e-9 to 9e11 units mixed in one stream: every row of every batch finite, every risk a probability', () => {
    fc.assert(
      fc.property(fc.array(extremeEventLine, { minLength: 1, maxLength: 40, size: 'max' }), (lines) => {
        const engine = new Engine(DEFAULT_CORE_CONFIG, { trackDaily: true })
        for (const line of lines) {
          const parsed = parseEvent(line)
          if (!parsed.ok) continue
          engine.process(parsed.event)
          expectSoundRows(engine.flush(0).rows)
        }
      }),
      { numRuns: 300 },
    )
  })

  test('reorder quantity is a whole number >= 0, or null exactly when on-hand is unknown', () => {
    fc.assert(
      fc.property(fc.array(eventLine, { minLength: 1, maxLength: 40, size: 'max' }), (lines) => {
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
