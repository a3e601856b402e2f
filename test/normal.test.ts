import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { erfc, normalCdf, normalQuantile, normalSurvival } from '../src/core/normal.ts'
import { pythonJson } from './support/python.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const xs = Array.from({ length: 801 }, (_, i) => -10 + i * 0.025)
const ps = [
  1e-300,
  1e-100,
  1e-20,
  1e-10,
  1e-6,
  0.001,
  0.01,
  0.025,
  0.05,
  0.1,
  0.2,
  0.3,
  0.4,
  0.425,
  0.5,
  0.6,
  0.75,
  0.9,
  0.95,
  0.975,
  0.99,
  0.999,
  1 - 1e-6,
  1 - 1e-10,
]

describe('standard normal (SPEC §5: accurate to 1e-12)', () => {
  const reference = pythonJson<{ erfc: number[]; cdf: number[]; quantile: number[] }>(
    `import json, math
from statistics import NormalDist
xs = [-10 + i * 0.025 for i in range(801)]
ps = ${JSON.stringify(ps)}
print(json.dumps({"erfc": [math.erfc(x) for x in xs], "cdf": [0.5 * math.erfc(-x / math.sqrt(2)) for x in xs], "quantile": [NormalDist().inv_cdf(p) for p in ps]}))`,
  )

  test('erfc agrees with C99 erfc (via Python) to 1e-15 absolute and 1e-13 relative', () => {
    xs.forEach((x, i) => {
      const expected = reference.erfc[i] as number
      expect(Math.abs(erfc(x) - expected)).toBeLessThanOrEqual(1e-15 + 1e-13 * expected)
    })
  })

  test('Φ agrees to 1e-15 over [-10, 10]', () => {
    xs.forEach((x, i) => {
      expect(Math.abs(normalCdf(x) - (reference.cdf[i] as number))).toBeLessThan(1e-15)
    })
  })

  test('1 − Φ keeps relative precision in the far tail', () => {
    // 1 − Φ(8) = 6.220960574271785e-16 (Abramowitz & Stegun table 26.1 gives 6.22096e-16)
    expect(normalSurvival(8)).toBeCloseTo(6.220960574271785e-16, 28)
    expect(normalSurvival(0)).toBe(0.5)
  })

  test('Φ⁻¹ agrees with Python statistics.NormalDist to 1e-12, and round-trips through Φ', () => {
    ps.forEach((p, i) => {
      const z = normalQuantile(p)
      expect(Math.abs(z - (reference.quantile[i] as number))).toBeLessThan(1e-12)
      if (p > 1e-20 && p < 1 - 1e-10)
        expect(Math.abs(normalCdf(z) - p)).toBeLessThan(1e-12 * Math.max(1, p / 1e-3))
    })
  })

  test('textbook values', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.6448536269514722, 14)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14)
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 15)
    expect(() => normalQuantile(1)).toThrow(RangeError)
  })
})
