// The backtest window: which days' predictions are scored. Pure; no clock. Relative bounds count
// back from an anchor day A: for event files the latest event day E of the input, for the
// PostgreSQL history today (UTC), which the command passes in.
//
//   --since Nd   the last N days: A − N + 1 … (N ≥ 1; 30d = A − 29 … A)
//   --until Nd   up to N days before A: … A − N (0d = A itself, the default)
//   --since / --until YYYY-MM-DD   that UTC day, inclusive
//
// "Nd" reads as "N days ago", counted from the close of A: --since 30d --until 7d is A − 29 … A − 7.

import { formatDay } from '../core/time.ts'
import { UsageError } from '../errors.ts'

export type Bound = { kind: 'days'; days: number } | { kind: 'date'; day: number }

export interface Window {
  /** First day whose closes are scored (UTC day number). */
  since: number
  /** Last day whose closes are scored, inclusive. */
  until: number
}

const FIRST_DAY = Date.UTC(2000, 0, 1) / 86_400_000

/** A mistake in what the user asked for: one line, no stack (the entry point recognizes the name). */
const DAYS_AGO = /^(\d{1,5})d$/
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Parses `Nd` or `YYYY-MM-DD`; throws a UsageError naming the flag. */
export function parseBound(text: string, flag: '--since' | '--until'): Bound {
  const trimmed = text.trim()
  const ago = DAYS_AGO.exec(trimmed)
  if (ago !== null) {
    const days = Number(ago[1])
    if (flag === '--since' && days < 1)
      throw new UsageError(`invalid --since "${text}": the window must cover at least 1d`)
    return { kind: 'days', days }
  }
  const day = parseDay(trimmed)
  if (day !== null) return { kind: 'date', day }
  throw new UsageError(
    `invalid ${flag} "${text}": expected Nd (days back from the latest event day, e.g. 30d) or a date YYYY-MM-DD`,
  )
}

/** The UTC day number of a real calendar date YYYY-MM-DD in 2000–2099, else null. */
export function parseDay(text: string): number | null {
  const match = DATE.exec(text)
  if (match === null) return null
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (year < 2000 || year > 2099 || month < 1 || month > 12 || day < 1) return null
  const ms = Date.UTC(year, month - 1, day)
  if (new Date(ms).getUTCDate() !== day) return null // 2026-02-30 rolls over into March
  return ms / 86_400_000
}

/** The window, once the anchor day is known; an empty window is an error. */
export function resolveWindow(since: Bound, until: Bound, anchorDay: number, endDay = anchorDay): Window {
  const window = {
    since: since.kind === 'date' ? since.day : anchorDay - since.days + 1,
    until: until.kind === 'date' ? until.day : anchorDay - until.days,
  }
  // Dates are already in 2000–2099 (parseDay); days counted back from the anchor can leave it.
  if (since.kind === 'days' && window.since < FIRST_DAY) {
    throw new UsageError(
      `the window ${formatDay(window.since)} … ${formatDay(window.until)} reaches outside 2000-01-01 … 2099-12-31, the years events can have`,
    )
  }
  if (window.since > window.until) {
    throw new UsageError(
      `the window ${formatDay(window.since)} … ${formatDay(window.until)} is empty (the data ends ${formatDay(endDay)})`,
    )
  }
  return window
}

/**
 * The earliest day that can still fall in the window while the anchor is known to be at least
 * `anchorSoFar` (reading files, E can only grow, so E − N + 1 ≥ anchorSoFar − N + 1). Closes
 * before it need no prediction.
 */
export function earliestPossibleDay(since: Bound, anchorSoFar: number): number {
  return since.kind === 'date' ? since.day : anchorSoFar - since.days + 1
}

/** The latest day that can fall in the window (a relative --until is known only at the end). */
export function latestPossibleDay(until: Bound): number {
  return until.kind === 'date' ? until.day : Number.POSITIVE_INFINITY
}
