// A tiny seeded PRNG: the generator must be reproducible byte for byte from --seed,
// so it never touches Math.random or the clock.

/** splitmix32: spreads a small integer seed over 32 bits so nearby seeds give unrelated streams. */
function splitmix32(state: number): () => number {
  let s = state >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
    return (z ^ (z >>> 15)) >>> 0
  }
}

/** Folds any safe integer (and a stream label) into a 32-bit seed. */
function seedBits(seed: number, stream: number): number {
  const low = seed >>> 0
  const high = Math.floor(seed / 0x1_0000_0000) >>> 0
  return (low ^ Math.imul(high, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35)) >>> 0
}

/**
 * sfc32 (Small Fast Counting): 128-bit state, passes PractRand, and is a handful of
 * integer operations per draw, which matters at tens of millions of draws per run.
 */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  /** `stream` separates independent sequences from one seed (item set-up, simulation, stream noise). */
  constructor(seed: number, stream = 0) {
    const mix = splitmix32(seedBits(seed, stream))
    this.a = mix()
    this.b = mix()
    this.c = mix()
    this.d = mix()
    // The first outputs of a freshly seeded sfc32 are weakly mixed; discard them.
    for (let i = 0; i < 12; i++) this.nextUint32()
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** Exponential with the given rate (mean 1/rate). */
  exponential(rate: number): number {
    // 1 - next() is in (0, 1], so the logarithm is finite.
    return -Math.log(1 - this.next()) / rate
  }

  /** Standard normal via Box–Muller (one of the pair is discarded to keep the state simple). */
  normal(): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Geometric number of extra units: 0 with probability 1 - q, then a fatter tail as q grows. */
  geometric(logQ: number): number {
    if (logQ >= 0) return 0
    return Math.floor(Math.log(1 - this.next()) / logQ)
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)] as T
  }
}
