// biome-ignore-all lint/correctness/noPrecisionLoss: the published coefficients are kept digit for digit
// The standard normal distribution to near double precision (SPEC §5 asks for 1e-12):
// erfc by W. J. Cody's rational Chebyshev approximations (Math. Comp. 1969, netlib CALERF),
// the quantile by M. Wichura's algorithm AS 241 (PPND16, Applied Statistics 1988).

const SQRT_HALF = Math.SQRT1_2
const ONE_OVER_SQRT_PI = 0.56418958354775628695

const ERF_A = [
  3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153,
]
const ERF_B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062]
const ERFC_C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
]
const ERFC_D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
]
const ERFC_P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
  6.58749161529837803e-4, 0.0163153871373020978,
]
const ERFC_Q = [
  2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191,
  0.00233520497626869185,
]

/** The complementary error function erfc(x) = 1 − erf(x). */
export function erfc(x: number): number {
  const y = Math.abs(x)
  if (y <= 0.46875) return 1 - x * erfSmallRatio(y * y)
  const tail = y <= 4 ? erfcMiddle(y) : erfcLarge(y)
  return x < 0 ? 2 - tail : tail
}

function erfSmallRatio(ysq: number): number {
  let num = (ERF_A[4] as number) * ysq
  let den = ysq
  for (let i = 0; i < 3; i++) {
    num = (num + (ERF_A[i] as number)) * ysq
    den = (den + (ERF_B[i] as number)) * ysq
  }
  return (num + (ERF_A[3] as number)) / (den + (ERF_B[3] as number))
}

function erfcMiddle(y: number): number {
  let num = (ERFC_C[8] as number) * y
  let den = y
  for (let i = 0; i < 7; i++) {
    num = (num + (ERFC_C[i] as number)) * y
    den = (den + (ERFC_D[i] as number)) * y
  }
  return expMinusSquare(y) * ((num + (ERFC_C[7] as number)) / (den + (ERFC_D[7] as number)))
}

function erfcLarge(y: number): number {
  if (y >= 26.543) return 0
  const ysq = 1 / (y * y)
  let num = (ERFC_P[5] as number) * ysq
  let den = ysq
  for (let i = 0; i < 4; i++) {
    num = (num + (ERFC_P[i] as number)) * ysq
    den = (den + (ERFC_Q[i] as number)) * ysq
  }
  const ratio = (ysq * (num + (ERFC_P[4] as number))) / (den + (ERFC_Q[4] as number))
  return (expMinusSquare(y) * (ONE_OVER_SQRT_PI - ratio)) / y
}

// exp(−y²) split as Cody does, so that the rounding of y² does not cost relative accuracy.
function expMinusSquare(y: number): number {
  const head = Math.trunc(y * 16) / 16
  const rest = (y - head) * (y + head)
  return Math.exp(-head * head) * Math.exp(-rest)
}

/** Φ(x), the standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT_HALF)
}

/** 1 − Φ(x), computed without cancellation for large x. */
export function normalSurvival(x: number): number {
  return 0.5 * erfc(x * SQRT_HALF)
}

const Q_A = [
  3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
  45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727,
]
const Q_B = [
  1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077, 21213.794301586595867,
  39307.89580009271061, 28729.085735721942674, 5226.495278852854561,
]
const Q_C = [
  1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504,
  1.27045825245236838258, 0.24178072517745061177, 0.0227238449892691845833, 7.7454501427834140764e-4,
]
const Q_D = [
  1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455, 0.14810397642748007459,
  0.0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9,
]
const Q_E = [
  6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123,
  0.026532189526576123093, 0.0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7,
]
const Q_F = [
  1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525, 7.868691311456132591e-4,
  1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15,
]

/** Φ⁻¹(p), the standard normal quantile, for 0 < p < 1. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`)
  const q = p - 0.5
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q
    return (q * polynomial(Q_A, r)) / polynomial(Q_B, r)
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p))
  let z: number
  if (r <= 5) {
    r -= 1.6
    z = polynomial(Q_C, r) / polynomial(Q_D, r)
  } else {
    r -= 5
    z = polynomial(Q_E, r) / polynomial(Q_F, r)
  }
  return q < 0 ? -z : z
}

/** Σ coefficients[i]·x^i by Horner's rule. */
function polynomial(coefficients: readonly number[], x: number): number {
  let sum = 0
  for (let i = coefficients.length - 1; i >= 0; i--) sum = sum * x + (coefficients[i] as number)
  return sum
}
