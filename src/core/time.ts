// Event time is kept as epoch milliseconds; days are whole UTC days since 1970-01-01.

const MS_PER_DAY = 86_400_000
const MIN_EVENT_MS = Date.UTC(2000, 0, 1)
const MAX_EVENT_MS = Date.UTC(2100, 0, 1) - 1

// YYYY-MM-DDTHH:MM[:SS[.fraction]] followed by Z or ±hh:mm (SPEC §2 requires a zone).
const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

export type TimestampResult = { ok: true; ms: number } | { ok: false; reason: 'format' | 'range' }

/** Parses SPEC §2 `timestamp`: an ISO-8601 string with a zone, or integer epoch milliseconds. */
export function parseTimestamp(value: unknown): TimestampResult {
  let ms: number
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { ok: false, reason: 'format' }
    ms = value
  } else if (typeof value === 'string') {
    const parsed = parseIsoWithZone(value)
    if (parsed === null) return { ok: false, reason: 'format' }
    ms = parsed
  } else {
    return { ok: false, reason: 'format' }
  }
  if (ms < MIN_EVENT_MS || ms > MAX_EVENT_MS) return { ok: false, reason: 'range' }
  return { ok: true, ms }
}

function parseIsoWithZone(text: string): number | null {
  const m = ISO_WITH_ZONE.exec(text)
  if (m === null) return null
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const second = m[6] === undefined ? 0 : Number(m[6])
  // Sub-millisecond digits are truncated: event time has millisecond resolution.
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'))
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null
  if (day < 1 || day > daysInMonth(year, month)) return null
  let offsetMinutes = 0
  if (m[8] === undefined) {
    const offHours = Number(m[10])
    const offMinutes = Number(m[11])
    if (offHours > 23 || offMinutes > 59) return null
    offsetMinutes = (offHours * 60 + offMinutes) * (m[9] === '-' ? -1 : 1)
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** `day(t)` of SPEC §3: the UTC calendar day of an instant, as a day number. */
export function dayOf(ms: number): number {
  return Math.floor(ms / MS_PER_DAY)
}

/** YYYY-MM-DD of a day number. */
export function formatDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10)
}

export function dayToMs(day: number): number {
  return day * MS_PER_DAY
}
