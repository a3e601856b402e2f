// consume's Redis writes against the stack's Redis: each hash only over an older row, several hashes
// a script call, every one with its fields and expiry.
import { afterAll, describe, expect, test } from 'bun:test'
import Redis from 'ioredis'
import type { MetricsRow } from '../src/core/rows.ts'
import { RedisMetricsSink, redisKey } from '../src/sinks/redis.ts'

const redis = new Redis({
  host: process.env.REDIS_HOST ?? 'localhost',
  port: Number(process.env.REDIS_PORT ?? 6379),
  lazyConnect: true,
})
const run = Date.now().toString(36)
const TTL_SECONDS = 600
afterAll(async () => {
  const keys = await redis.keys(`metrics:SKU-SINK-${run}-*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
})

function row(item: number, computedAt: number, onHand: number): MetricsRow {
  return {
    sku: `SKU-SINK-${run}-${item}`,
    warehouseId: 'WH-01',
    asOfDay: 20_454,
    lastEventAt: computedAt - 1_000,
    eventCount: 3,
    onHand,
    velocity7d: 1.5,
    velocity30d: 0.25,
    volatility: 0.5,
    trend: 1,
    seasonalityIndex: 1,
    daysOfHistory: 9,
    leadTimeDays: 7,
    expectedDemandLeadTime: 10.5,
    stockoutRisk: item % 2 === 0 ? null : 0.125,
    riskLevel: item % 2 === 0 ? 'unknown' : 'low',
    daysOfCover: null,
    safetyStock: 4,
    reorderPoint: 14.5,
    reorderQuantity: 20,
    onOrder: 0,
    inventoryPosition: onHand,
    expectedStockoutDate: item % 2 === 0 ? null : 20_470,
    computedAt,
  }
}

describe('Redis metrics hashes, written only over older rows', () => {
  test('250 items in one write, then older rows that change nothing and newer ones that do', async () => {
    const sink = new RedisMetricsSink(redis, TTL_SECONDS, { onlyNewer: true })
    const at = Date.now()
    const items = Array.from({ length: 250 }, (_, item) => item)
    await sink.writeHashes(sink.hashesOf(items.map((item) => row(item, at, 10))))
    await sink.writeHashes(sink.hashesOf(items.map((item) => row(item, at - 5_000, 99))))
    await sink.writeHashes(sink.hashesOf(items.filter((i) => i < 120).map((i) => row(i, at + 5_000, 7))))
    for (const item of items) {
      const key = redisKey(`SKU-SINK-${run}-${item}`, 'WH-01')
      const hash = await redis.hgetall(key)
      const newer = item < 120
      expect(hash).toEqual({
        velocity_7d: '1.5',
        velocity_30d: '0.25',
        stockout_risk: item % 2 === 0 ? '' : '0.125',
        risk_level: item % 2 === 0 ? 'unknown' : 'low',
        on_hand: newer ? '7' : '10',
        on_order: '0',
        reorder_quantity: '20',
        expected_stockout_date: item % 2 === 0 ? '' : '2026-01-17',
        as_of_date: '2026-01-01',
        last_updated: new Date(newer ? at + 5_000 : at).toISOString(),
      })
      // Expires at its row's time + the TTL.
      expect(await redis.pexpiretime(key)).toBe((newer ? at + 5_000 : at) + TTL_SECONDS * 1000)
    }
  })
})
