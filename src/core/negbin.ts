// The negative binomial distribution of demand counts, given by its mean m and variance v > m
// (size r = m² / (v − m), success probability p = r / (r + m)), and the special functions it needs.
//
//   P(X ≤ k) = I_p(r, k + 1)       P(X ≥ s) = I_{1−p}(s, r)      (I the regularized incomplete beta)
//
// Large means are approximated by the normal distribution with a continuity correction, where the
// negative binomial is already close to it and the continued fraction would need many terms.
import { normalQuantile, normalSurvival } from './normal.ts'

/**
 * Above this mean a count is as good as continuous: a gamma distribution of the same mean and
 * variance stands in for the negative binomial (whose continued fraction would need ever more terms),
 * and past NORMAL_FROM_SHAPE the gamma is as good as normal.
 */
export const CONTINUOUS_FROM_MEAN = 2000
const NORMAL_FROM_SHAPE = 1e4

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

/**
 * The regularized incomplete beta I_x(a, b), by its continued fraction (Lentz), on the side where it
 * converges fast. `rest` is 1 − x, given apart: a negative binomial whose variance dwarfs its mean
 * has x = m / (r + m) within 1e-16 of 1, where 1 − x computed from x is 0 (its tail read as certain
 * at every level, and the reorder point searched for ever) while r / (r + m) keeps all its digits.
 */
export function incompleteBeta(x: number, a: number, b: number, rest: number): number {
  if (x <= 0) return 0
  if (rest <= 0) return 1
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(rest)
  // Kept within [0, 1]: with a size b near 0 and a level a near 10⁹ the fraction loses digits, and
  // 1 − a loose value near 1 could read as a negative chance.
  if (x < (a + 1) / (a + b + 2)) return Math.min(1, (Math.exp(logFront) * betaFraction(x, a, b)) / a)
  return Math.max(0, 1 - (Math.exp(logFront) * betaFraction(rest, b, a)) / b)
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
  if (m > CONTINUOUS_FROM_MEAN) return continuousAtLeast(units - 0.5, m, v)
  if (units <= SUMMED_UP_TO) return summedFrom(units, m, v).tail
  const r = (m * m) / (v - m)
  return incompleteBeta(m / (r + m), units, r, r / (r + m))
}

/**
 * Up to this many units a tail is 1 − the sum of the probabilities below it, each the one before
 * times a ratio: cheaper than the continued fraction with its three log-gammas, and exact to
 * ~1e-15 absolute (what a probability needs; past it the answer would underflow anyway).
 */
const SUMMED_UP_TO = 64

/** P(X = x) and P(X ≥ x) for a whole 0 ≤ x ≤ SUMMED_UP_TO, by summing from P(X = 0) = p^r. */
function summedFrom(x: number, m: number, v: number): { pmf: number; tail: number } {
  const r = (m * m) / (v - m)
  const q = m / (r + m)
  // P(X = 0) = p^r, p = r / (r + m) taken as it is: 1 − q loses it when q rounds to 1.
  let pmf = Math.exp(r * Math.log(r / (r + m)))
  let below = 0
  for (let k = 0; k < x; k++) {
    below += pmf
    pmf *= ((k + r) / (k + 1)) * q
  }
  return { pmf, tail: Math.max(0, 1 - below) }
}

/** P(X ≥ x) for a gamma of mean m and variance v (normal when its shape m²/v is large). */
function continuousAtLeast(x: number, m: number, v: number): number {
  const shape = (m * m) / v
  if (shape > NORMAL_FROM_SHAPE) return normalSurvival((x - m) / Math.sqrt(v))
  if (x <= 0) return 1
  return 1 - incompleteGammaLower(shape, (x * m) / v)
}

/** P(X = x) for a whole x ≥ 0, the same distribution as demandAtLeast. */
export function demandExactly(x: number, m: number, v: number): number {
  if (x < 0) return 0
  if (m <= 0) return x === 0 ? 1 : 0
  if (m > CONTINUOUS_FROM_MEAN) return Math.max(0, demandAtLeast(x, m, v) - demandAtLeast(x + 1, m, v))
  const r = (m * m) / (v - m)
  const p = r / (r + m)
  return Math.exp(logGamma(x + r) - logGamma(r) - logGamma(x + 1) + r * Math.log(p) + x * Math.log1p(-p))
}

/** The regularized lower incomplete gamma P(a, x), kept within [0, 1] as incompleteBeta is. */
export function incompleteGammaLower(a: number, x: number): number {
  if (x <= 0) return 0
  const logFront = a * Math.log(x) - x - logGamma(a)
  if (x < a + 1) {
    // Series Σ xⁿ / (a (a+1) … (a+n)).
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 100_000; n++) {
      term *= x / (a + n)
      sum += term
      if (term < sum * 1e-15) break
    }
    return Math.min(1, sum * Math.exp(logFront))
  }
  // Continued fraction for the upper part Q(a, x) (Lentz).
  const tiny = 1e-300
  let b = x + 1 - a
  let c = 1 / tiny
  let d = 1 / b
  let h = d
  for (let i = 1; i < 100_000; i++) {
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
  return Math.max(0, 1 - Math.exp(logFront) * h)
}

/**
 * P(X = x) and P(X ≥ x) at a whole x that moves one unit at a time: after one exact evaluation,
 * each step is a multiplication (pmf(x + 1) = pmf(x)·(x + r)/(x + 1)·m/(r + m)) and an addition.
 * Large means (continuous) are evaluated afresh at each step.
 */
export class DemandWalk {
  x: number
  pmf: number
  tail: number
  private readonly m: number
  private readonly v: number
  /** r of the negative binomial; NaN when evaluated afresh (continuous, or no demand). */
  private readonly size: number
  /** m / (r + m), the factor every step's ratio shares (worked out once, not at every step). */
  private readonly shared: number

  /** `tailAbove`: P(X ≥ x + 1) when the caller knows it already (saves the exact tail). */
  constructor(m: number, v: number, x: number, tailAbove?: number) {
    this.m = m
    this.v = v
    this.size = m > 0 && m <= CONTINUOUS_FROM_MEAN ? (m * m) / (v - m) : Number.NaN
    this.shared = m / (this.size + m)
    this.x = x
    if (tailAbove === undefined && x >= 0 && x <= SUMMED_UP_TO && !Number.isNaN(this.size)) {
      const start = summedFrom(x, m, v)
      this.pmf = start.pmf
      this.tail = start.tail
      return
    }
    this.pmf = demandExactly(x, m, v)
    this.tail = tailAbove === undefined ? demandAtLeast(x, m, v) : tailAbove + this.pmf
  }

  up(): void {
    const x = this.x
    this.x = x + 1
    if (Number.isNaN(this.size) || x < 0 || this.lostInLowTail()) {
      this.evaluate(x + 1)
      return
    }
    this.tail = Math.max(0, this.tail - this.pmf)
    this.pmf *= this.ratio(x)
  }

  down(): void {
    const x = this.x - 1
    this.x = x
    if (Number.isNaN(this.size) || x < 0 || this.pmf === 0) {
      this.evaluate(x)
      return
    }
    this.pmf /= this.ratio(x)
    this.tail = Math.min(1, this.tail + this.pmf)
  }

  /**
   * Moves to a whole `target`: step by step when it is near (a multiplication a step), evaluated
   * afresh when it is far or the distribution is continuous (one evaluation costs about
   * FRESH_EVALUATION_STEPS steps).
   */
  private moveTo(target: number): void {
    if (
      Number.isNaN(this.size) ||
      Math.abs(target - this.x) > FRESH_EVALUATION_STEPS ||
      this.lostInLowTail()
    ) {
      this.x = target
      this.evaluate(target)
      return
    }
    while (this.x < target) this.up()
    while (this.x > target) this.down()
  }

  /**
   * P(X ≥ target), the walk moved there: all a grid asks of it. A continuous distribution is
   * evaluated afresh at every move, so its P(X = x), a second tail, is left out (NaN) until a move
   * needs it.
   */
  tailAt(target: number): number {
    if (this.m > CONTINUOUS_FROM_MEAN && target >= 0) {
      this.x = target
      this.tail = demandAtLeast(target, this.m, this.v)
      this.pmf = Number.NaN
      return this.tail
    }
    this.moveTo(target)
    return this.tail
  }

  /**
   * P(X = x) and P(X ≥ x) afresh. A continuous distribution's P(X = x) is P(X ≥ x) − P(X ≥ x + 1)
   * (demandExactly): its first tail is the one wanted, not worked out twice (a high-volume item's
   * first passage evaluates its walks afresh at every cell of its grid).
   */
  private evaluate(x: number): void {
    if (this.m > CONTINUOUS_FROM_MEAN && x >= 0) {
      this.tail = demandAtLeast(x, this.m, this.v)
      this.pmf = Math.max(0, this.tail - demandAtLeast(x + 1, this.m, this.v))
      return
    }
    this.pmf = demandExactly(x, this.m, this.v)
    this.tail = demandAtLeast(x, this.m, this.v)
  }

  /**
   * Deep in the low tail of a large mean, P(X = x) is below what a double holds with all its
   * digits (or is 0): products of steps from it would stay wrong (0 never grows back) while the
   * walk climbs towards the mean, so it is evaluated afresh there instead. Far in the high tail a
   * tiny probability is harmless: the tail there is as tiny.
   */
  private lostInLowTail(): boolean {
    return this.pmf < SMALLEST_STEPPED_PMF && this.x < this.m
  }

  /** pmf(x + 1) / pmf(x). */
  private ratio(x: number): number {
    const r = this.size
    return ((x + r) / (x + 1)) * this.shared
  }
}

/** Probabilities below this have lost digits to underflow (the smallest normal double is ~2.2e-308). */
const SMALLEST_STEPPED_PMF = 1e-290

/** What one exact evaluation of a tail costs (the incomplete beta's continued fraction), in walk steps. */
const FRESH_EVALUATION_STEPS = 128

/** Steps a walk from the normal guess may take before bisection takes over (far-off guesses, huge means). */
const WALK_STEPS = 48

/**
 * The smallest whole level L ≥ 1 with P(X ≥ L) ≤ tail: the stock that, on hand now, leaves at most
 * that chance of running out. Walks one unit at a time from the normal quantile (one exact
 * evaluation, then a multiplication a step: the skew of a count moves the answer only a few units
 * from it); a walk that goes on too long (huge means) hands its bracket to a bisection.
 */
export function levelForTail(tail: number, m: number, v: number): number {
  if (m <= 0) return 1
  const guess = Math.max(1, Math.ceil(m + normalQuantile(1 - tail) * Math.sqrt(v)))
  const walk = new DemandWalk(m, v, guess)
  if (walk.tail <= tail) {
    for (let steps = 0; walk.x > 1; steps++) {
      if (steps === WALK_STEPS) return bisectLevel(tail, m, v, 0, walk.x)
      walk.down()
      if (walk.tail > tail) return walk.x + 1
    }
    return 1
  }
  for (let steps = 0; walk.tail > tail; steps++) {
    if (steps === WALK_STEPS)
      return bisectLevel(tail, m, v, walk.x, walk.x + Math.max(1, Math.ceil(Math.sqrt(v))))
    walk.up()
  }
  return walk.x
}

/**
 * levelForTail between `failing` (a level whose tail is above `tail`, or 0) and `from` (a level
 * to try first): widens the step until a level passes, then bisects on whole levels.
 */
function bisectLevel(tail: number, m: number, v: number, failing: number, from: number): number {
  const passes = (level: number) => demandAtLeast(level, m, v) <= tail
  let low = failing
  let high = Math.max(from, low + 1)
  // Cantelli's inequality, P(X ≥ m + kσ) ≤ 1 / (1 + k²), puts the answer at or below this level
  // whatever the tails above it: the search ends there even when rounding keeps a tail from falling.
  const surely = Math.ceil(m + Math.sqrt((v * (1 - tail)) / tail))
  for (let step = high - low; !passes(high); step *= 2) {
    if (high >= surely) return surely
    low = high
    high += step
  }
  while (high - low > 1) {
    const middle = Math.floor(low + (high - low) / 2)
    // Past 2⁵³ not every whole number is a double: stop where the halves no longer differ.
    if (middle <= low || middle >= high) break
    if (passes(middle)) high = middle
    else low = middle
  }
  return Math.max(1, high)
}
