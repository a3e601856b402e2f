// Event time is kept as epoch milliseconds; days are whole UTC days since 1970-01-01.

export const MS_PER_DAY = 86_400_000
const MIN_EVENT_MS = Date.UTC(2000, 0, 1)
const MAX_EVENT_MS = Date.UTC(2100, 0, 1) - 1

export type TimestampResult = { ok: true; ms: number } | { ok: false; reason: 'format' | 'range' }

/** Parses SPEC §2 `timestamp`: an ISO-8601 string with a zone, or integer epoch milliseconds. */
export function parseTimestamp(value: unknown): TimestampResult {
  let ms: number
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { ok: false, reason: 'format' }
    ms = value
  } else if (typeof value === 'string') {
    ms = parseIsoWithZone(value)
    if (Number.isNaN(ms)) return { ok: false, reason: 'format' }
  } else {
    return { ok: false, reason: 'format' }
  }
  if (ms < MIN_EVENT_MS || ms > MAX_EVENT_MS) return { ok: false, reason: 'range' }
  return { ok: true, ms }
}

/**
 * YYYY-MM-DDTHH:MM[:SS[.fraction]] followed by Z or ±hh:mm (SPEC §2 requires a zone); NaN when
 * the text is not that or names no real instant. Read character by character because it runs
 * for every event, and a regular expression plus Date parsing costs several times more.
 */
export function parseIsoWithZone(text: string): number {
  const n = text.length
  if (n < 17 || !isChar(text, 4, '-') || !isChar(text, 7, '-') || !isChar(text, 13, ':')) return Number.NaN
  const t = text.charCodeAt(10)
  if (t !== 84 && t !== 116) return Number.NaN // T or t
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 2)
  const day = digits(text, 8, 2)
  const hour = digits(text, 11, 2)
  const minute = digits(text, 14, 2)
  let i = 16
  let second = 0
  let millis = 0
  if (isChar(text, i, ':')) {
    second = digits(text, i + 1, 2)
    i += 3
    const mark = text.charCodeAt(i)
    if (mark === 46 || mark === 44) {
      // '.' or ','; digits past the third are truncated: event time has millisecond resolution.
      const fractionStart = ++i
      while (i < n && isDigit(text.charCodeAt(i))) i++
      const count = i - fractionStart
      if (count === 0 || count > 9) return Number.NaN
      millis = digits(text, fractionStart, Math.min(3, count)) * 10 ** Math.max(0, 3 - count)
    }
  }
  const offset = zoneOffsetMinutes(text, i)
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return Number.NaN
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return Number.NaN
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000
}

/** Minutes east of UTC of a zone designator that must end the text: Z, or ±hh:mm. */
function zoneOffsetMinutes(text: string, at: number): number {
  const rest = text.length - at
  const c = text.charCodeAt(at)
  if (rest === 1 && (c === 90 || c === 122)) return 0 // Z or z
  if (rest !== 6 || (c !== 43 && c !== 45) || !isChar(text, at + 3, ':')) return Number.NaN
  const hours = digits(text, at + 1, 2)
  const minutes = digits(text, at + 4, 2)
  if (!(hours <= 23 && minutes <= 59)) return Number.NaN
  return (hours * 60 + minutes) * (c === 45 ? -1 : 1)
}

function isChar(text: string, at: number, char: string): boolean {
  return text.charCodeAt(at) === char.charCodeAt(0)
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}

/** The decimal number of `count` digits at `at`, or NaN if any is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0
  for (let i = at; i < at + count; i++) {
    const code = text.charCodeAt(i)
    if (!isDigit(code)) return Number.NaN
    value = value * 10 + (code - 48)
  }
  return value
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29
  return DAYS_IN_MONTH[month - 1] as number
}

/** `day(t)` of SPEC §3: the UTC calendar day of an instant, as a day number. */
export function dayOf(ms: number): number {
  return Math.floor(ms / MS_PER_DAY)
}

const formattedDays = new Map<number, string>()

/**
 * YYYY-MM-DD of a day number. Remembered: the stores write a date for every row and every day of a
 * close's sales, and the days in play are few (validation keeps them within 2000–2099).
 */
export function formatDay(day: number): string {
  let text = formattedDays.get(day)
  if (text === undefined) {
    text = new Date(day * MS_PER_DAY).toISOString().slice(0, 10)
    formattedDays.set(day, text)
  }
  return text
}
