// The negative binomial distribution of demand counts, given by its mean m and variance v > m
// (size r = m² / (v − m), success probability p = r / (r + m)), and the special functions it needs.
//
//   P(X ≤ k) = I_p(r, k + 1)       P(X ≥ s) = I_{1−p}(s, r)      (I the regularized incomplete beta)
//
// Large means are approximated by the normal distribution with a continuity correction, where the
// negative binomial is already close to it and the continued fraction would need many terms.
import { normalQuantile, normalSurvival } from './normal.ts'

/** Above this mean the normal approximation (error well under 1e-3 there) replaces the exact tail. */
const NORMAL_FROM_MEAN = 2000
/** A size r beyond this is a Poisson distribution to every digit that matters (variance/mean − 1 < 1e-6 of the mean). */
const POISSON_FROM_SIZE = 1e6

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let a = LANCZOS[0] as number
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

/** The regularized incomplete beta I_x(a, b), by its continued fraction (Lentz), on the side where it converges fast. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x)
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaFraction(x, a, b)) / a
  return 1 - (Math.exp(logFront) * betaFraction(1 - x, b, a)) / b
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const step = d * c
    h *= step
    if (Math.abs(step - 1) < 1e-13) break
  }
  return h
}

/**
 * P(X ≥ s) for X with mean m ≥ 0 and variance v > m (a negative binomial). s ≤ 0 is certain; a
 * mean of 0 is no demand at all.
 */
export function demandAtLeast(s: number, m: number, v: number): number {
  if (s <= 0) return 1
  if (m <= 0) return 0
  const units = Math.ceil(s)
  if (m > NORMAL_FROM_MEAN) return normalSurvival((units - 0.5 - m) / Math.sqrt(v))
  const r = (m * m) / (v - m)
  if (!(r < POISSON_FROM_SIZE)) return incompleteGammaLower(units, m)
  return incompleteBeta(m / (r + m), units, r)
}

/** P(X = x) for a whole x ≥ 0, the same distribution as demandAtLeast (normal density for large means). */
export function demandExactly(x: number, m: number, v: number): number {
  if (x < 0) return 0
  if (m <= 0) return x === 0 ? 1 : 0
  if (m > NORMAL_FROM_MEAN) return demandAtLeast(x, m, v) - demandAtLeast(x + 1, m, v)
  const r = (m * m) / (v - m)
  if (!(r < POISSON_FROM_SIZE)) return Math.exp(x * Math.log(m) - m - logGamma(x + 1))
  const p = r / (r + m)
  return Math.exp(logGamma(x + r) - logGamma(r) - logGamma(x + 1) + r * Math.log(p) + x * Math.log1p(-p))
}

/** The regularized lower incomplete gamma P(a, x): for a Poisson mean x, P(X ≥ a) = P(a, x). */
export function incompleteGammaLower(a: number, x: number): number {
  if (x <= 0) return 0
  const logFront = a * Math.log(x) - x - logGamma(a)
  if (x < a + 1) {
    // Series Σ xⁿ / (a (a+1) … (a+n)).
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n)
      sum += term
      if (term < sum * 1e-15) break
    }
    return sum * Math.exp(logFront)
  }
  // Continued fraction for the upper part Q(a, x) (Lentz).
  const tiny = 1e-300
  let b = x + 1 - a
  let c = 1 / tiny
  let d = 1 / b
  let h = d
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < tiny) d = tiny
    c = b + an / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const step = d * c
    h *= step
    if (Math.abs(step - 1) < 1e-15) break
  }
  return 1 - Math.exp(logFront) * h
}

/**
 * P(X = x) and P(X ≥ x) at a whole x that moves one unit at a time: after one exact evaluation,
 * each step is a multiplication (pmf(x + 1) = pmf(x)·(x + r)/(x + 1)·m/(r + m), Poisson: m/(x + 1))
 * and an addition. Large means (the normal approximation) are evaluated afresh at each step.
 */
export class DemandWalk {
  x: number
  pmf: number
  tail: number
  private readonly m: number
  private readonly v: number
  /** r of the negative binomial; Infinity for Poisson; NaN for the normal approximation or no demand. */
  private readonly size: number

  /** `tailAbove`: P(X ≥ x + 1) when the caller knows it already (saves the exact tail). */
  constructor(m: number, v: number, x: number, tailAbove?: number) {
    this.m = m
    this.v = v
    const r = m > 0 ? (m * m) / (v - m) : Number.NaN
    this.size = m > NORMAL_FROM_MEAN ? Number.NaN : r < POISSON_FROM_SIZE ? r : Number.POSITIVE_INFINITY
    this.x = x
    this.pmf = demandExactly(x, m, v)
    this.tail = tailAbove === undefined ? demandAtLeast(x, m, v) : tailAbove + this.pmf
  }

  up(): void {
    const x = this.x
    this.x = x + 1
    if (Number.isNaN(this.size) || x < 0) {
      this.pmf = demandExactly(x + 1, this.m, this.v)
      this.tail = demandAtLeast(x + 1, this.m, this.v)
      return
    }
    this.tail = Math.max(0, this.tail - this.pmf)
    this.pmf *= this.ratio(x)
  }

  down(): void {
    const x = this.x - 1
    this.x = x
    if (Number.isNaN(this.size) || x < 0 || this.pmf === 0) {
      this.pmf = demandExactly(x, this.m, this.v)
      this.tail = demandAtLeast(x, this.m, this.v)
      return
    }
    this.pmf /= this.ratio(x)
    this.tail = Math.min(1, this.tail + this.pmf)
  }

  /** pmf(x + 1) / pmf(x). */
  private ratio(x: number): number {
    const r = this.size
    return r === Number.POSITIVE_INFINITY ? this.m / (x + 1) : ((x + r) / (x + 1)) * (this.m / (r + this.m))
  }
}

/**
 * The smallest whole level L ≥ 1 with P(X ≥ L) ≤ tail: the stock that, on hand now, leaves at most
 * that chance of running out. Starts from the normal quantile and walks to the exact answer.
 */
export function levelForTail(tail: number, m: number, v: number): number {
  if (m <= 0) return 1
  const walk = new DemandWalk(m, v, Math.max(1, Math.ceil(m + normalQuantile(1 - tail) * Math.sqrt(v))))
  while (walk.tail > tail) walk.up()
  while (walk.x > 1) {
    walk.down()
    if (walk.tail > tail) return walk.x + 1
  }
  return 1
}
