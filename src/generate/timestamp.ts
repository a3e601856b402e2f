// Event times as different producers send them: ISO-8601 in the warehouse's own zone,
// or integer epoch milliseconds.

interface Zone {
  suffix: string
  offsetMs: number
}

// One zone per warehouse, cycling: a European, a UTC and an American site.
const ZONES: readonly Zone[] = [
  { suffix: '+02:00', offsetMs: 2 * 3_600_000 },
  { suffix: 'Z', offsetMs: 0 },
  { suffix: '-05:00', offsetMs: -5 * 3_600_000 },
]

export function zoneOfWarehouse(warehouse: number): Zone {
  return ZONES[warehouse % ZONES.length] as Zone
}

/** ISO-8601 local time with the zone's offset, to the second (event times are whole seconds). */
export function formatInZone(ms: number, zone: Zone): string {
  return new Date(ms + zone.offsetMs).toISOString().slice(0, 19) + zone.suffix
}
