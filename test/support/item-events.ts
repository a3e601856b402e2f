// Hand-made events of one item (S at W) for the core's unit tests, and the seeded randomness of their
// simulations: one place, so the risk, order and episode tests build their streams alike.
import { expect } from 'bun:test'
import { DEFAULT_CORE_CONFIG, resolveConfig } from '../../src/core/config.ts'
import type { EventType, InventoryEvent } from '../../src/core/event.ts'
import type { MetricsRow } from '../../src/core/rows.ts'
import { applyEvent, ItemState } from '../../src/core/state.ts'

export const config = resolveConfig(DEFAULT_CORE_CONFIG)
export const DAY = 86_400_000
/** Day 0: 2026-03-02, a Monday. */
export const START = Date.UTC(2026, 2, 2) / DAY

let counter = 0

/** An event of item S at W on day `day` (from START), at noon UTC. */
export function event(
  type: EventType,
  day: number,
  quantity: number,
  extra: Partial<InventoryEvent> = {},
): InventoryEvent {
  return {
    eventId: `e${counter++}`,
    type,
    sku: 'S',
    warehouseId: 'W',
    quantity,
    ts: (START + day) * DAY + 12 * 3_600_000,
    onHand: null,
    leadTimeDays: null,
    orderId: null,
    expectedAt: null,
    ...extra,
  }
}

/** The item's state after these events, in this order. */
export function stateOf(events: InventoryEvent[]): ItemState {
  const state = new ItemState('S:W')
  for (const e of events) applyEvent(state, e, config)
  return state
}

/** A seeded uniform [0, 1) (a linear congruential generator: reproducible, good enough for tests). */
export function seededRandom(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state / 2_147_483_648
  }
}

/** Poisson draws by inversion, from the given uniform source. */
export function poissonSampler(random: () => number): (mean: number) => number {
  return (mean) => {
    let k = 0
    let p = Math.exp(-mean)
    let cdf = p
    const u = random()
    while (u > cdf && k < 10_000) {
      k++
      p *= mean / k
      cdf += p
    }
    return k
  }
}

/** Every figure of the rows a finite number (or null), every risk a probability. */
export function expectSoundRows(rows: readonly MetricsRow[]): void {
  for (const row of rows) {
    for (const value of Object.values(row))
      if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true)
    if (row.stockoutRisk !== null) {
      expect(row.stockoutRisk).toBeGreaterThanOrEqual(0)
      expect(row.stockoutRisk).toBeLessThanOrEqual(1)
    }
  }
}
