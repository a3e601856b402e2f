// On-hand arithmetic of SPEC §3 with fractional quantities: the decimal quantities' sums, not their
// binary floating-point dust (src/core/state.ts, wholeIfDust).
import { describe, expect, test } from 'bun:test'
import { stockoutRisk } from '../src/core/risk.ts'
import { config, event, stateOf } from './support/item-events.ts'

describe('on-hand with fractional quantities (SPEC §3)', () => {
  test('produce sold by weight down to nothing reads 0: out of stock, risk 1', () => {
    // In binary floating point 2.35 − 0.8 − 0.7 − 0.85 is 1.1e-16, which would never read empty.
    const state = stateOf([
      event('stock_count', 0, 2.35),
      event('sale', 1, 0.8),
      event('sale', 1, 0.7),
      event('sale', 1, 0.85),
    ])
    expect(state.onHand).toBe(0)
    expect(Object.is(state.onHand, -0)).toBe(false)
    expect(stockoutRisk(state, config)).toBe(1)
    expect(state.outDays).not.toBeNull()
  })

  test('a remainder near a whole number is that number; a real fraction stays', () => {
    // 4.35 − 0.35 is 3.9999999999999996 in binary floating point.
    const whole = stateOf([event('stock_count', 0, 4.35), event('sale', 1, 0.35)])
    expect(whole.onHand).toBe(4)
    // 0.001 kg left of 2.351: a thousandth of the operands, far above their rounding.
    const fraction = stateOf([event('stock_count', 0, 2.351), event('sale', 1, 2.35)])
    expect(fraction.onHand).toBeCloseTo(0.001, 12)
    expect(fraction.onHand).toBeGreaterThan(0)
  })

  test('write-offs and returns by weight too', () => {
    const state = stateOf([
      // 0.1 − 0.2 + 0.4 − 0.3 is 5.6e-17 in binary floating point.
      event('stock_count', 0, 0.1),
      event('adjustment', 1, -0.2),
      event('return', 1, 0.4),
      event('sale', 1, 0.3),
    ])
    expect(state.onHand).toBe(0)
  })
})
