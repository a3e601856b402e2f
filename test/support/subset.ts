// Comparing a report with hand-worked figures: the figures given must all be there, equal up to
// rounding in the last bits (the hand calculation sums in another order).

export /** Every field of `expected` is in `actual`; numbers agree to 1e-12. */
function expectSubset(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Math.abs(actual - expected) > 1e-12) throw new Error(`${path}: expected ${expected}, got ${actual}`)
    return
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
    expected.forEach((e, i) => {
      expectSubset(actual[i], e, `${path}[${i}]`)
    })
    return
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') throw new Error(`${path}: expected an object`)
    for (const [key, value] of Object.entries(expected)) {
      if (!(key in actual)) throw new Error(`${path}.${key}: missing`)
      expectSubset((actual as Record<string, unknown>)[key], value, `${path}.${key}`)
    }
    return
  }
  if (actual !== expected)
    throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
}
