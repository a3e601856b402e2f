// The binary COPY encoder (src/postgres/copy.ts) against a real PostgreSQL: every type it writes,
// read back as PostgreSQL's own text and compared with values worked out independently (dates and
// timestamps through Date, numbers through String); and a COPY the server rejects ends the
// transaction with an error instead of hanging it.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import type { Sql } from 'postgres'
import { binaryCopy, type CopyColumn, copyInto, stagingTable } from '../src/postgres/copy.ts'
import { connect, Scenarios } from './support/stack.ts'

setDefaultTimeout(60_000)

const scenarios = new Scenarios()
let sql: Sql
beforeAll(async () => {
  sql = connect(await scenarios.database('copy'))
})
afterAll(async () => {
  await sql.end()
  await scenarios.cleanup()
})

interface Sample {
  text: string | null
  float: number | null
  int: number | null
  flag: boolean | null
  day: number | null
  at: number | null
  days: number[] | null
  units: number[] | null
  doc: string | null
}

const COLUMNS: CopyColumn<Sample>[] = [
  { name: 'text', type: 'text', value: (s) => s.text },
  { name: 'float', type: 'float8', value: (s) => s.float },
  { name: 'int', type: 'int8', value: (s) => s.int },
  { name: 'flag', type: 'bool', value: (s) => s.flag },
  { name: 'day', type: 'date', value: (s) => s.day },
  { name: 'at', type: 'timestamptz', value: (s) => s.at },
  { name: 'days', type: 'date[]', value: (s) => s.days },
  { name: 'units', type: 'float8[]', value: (s) => s.units },
  { name: 'doc', type: 'json', value: (s) => s.doc },
]

const SAMPLES: Sample[] = [
  {
    text: 'SKU-ü€😀 "quoted" back\\slash',
    float: 0.1 + 0.2,
    int: 2 ** 53 - 1,
    flag: true,
    day: 0,
    at: 0,
    days: [10_957, 20_500],
    units: [1.5, -2],
    doc: '{"a":[1,"ü"]}',
  },
  {
    text: '',
    float: Number.NaN,
    int: -(2 ** 53 - 1),
    flag: false,
    day: -1,
    at: 1_770_974_944_123,
    days: [],
    units: [],
    doc: '[]',
  },
  {
    text: 'x',
    float: Number.POSITIVE_INFINITY,
    int: -1,
    flag: true,
    day: 10_957,
    at: -1,
    days: [-400],
    units: [1e-300],
    doc: '1',
  },
  {
    text: 'y',
    float: Number.NEGATIVE_INFINITY,
    int: 4_294_967_296,
    flag: null,
    day: 20_500,
    at: 946_684_800_000,
    days: null,
    units: null,
    doc: null,
  },
  { text: null, float: -0, int: 0, flag: false, day: null, at: null, days: [0], units: [1.5e300], doc: '{}' },
  { text: 'z', float: null, int: null, flag: true, day: 1, at: 1, days: [1], units: [3], doc: '"s"' },
]

const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10)
const isoTime = (ms: number) => new Date(ms).toISOString()
/** PostgreSQL's text of a float8 (shortest round trip, as String's, but for the infinities' and the exponent's spelling). */
const floatText = (value: number) => (Object.is(value, -0) ? '-0' : String(value))

function expectedText(s: Sample) {
  return {
    text: s.text,
    float: s.float === null ? null : floatText(s.float),
    int: s.int === null ? null : String(s.int),
    flag: s.flag === null ? null : String(s.flag),
    day: s.day === null ? null : isoDay(s.day),
    at: s.at === null ? null : isoTime(s.at),
    days: s.days === null ? null : `{${s.days.map(isoDay).join(',')}}`,
    units: s.units === null ? null : `{${s.units.map(floatText).join(',')}}`,
    doc: s.doc,
  }
}

/** Stages `items` in a fresh staging table and returns what PostgreSQL holds, as text, in order. */
async function roundTrip(items: Sample[]) {
  return sql.begin(async (tx) => {
    await tx.unsafe(stagingTable('pg_temp.copy_sample', COLUMNS))
    await tx.unsafe('ALTER TABLE pg_temp.copy_sample ADD COLUMN IF NOT EXISTS n serial')
    await copyInto(tx, 'pg_temp.copy_sample', COLUMNS, binaryCopy(COLUMNS, items))
    const rows = await tx.unsafe<Record<string, string | null>[]>(`
      SELECT text, float::text AS float, int::text AS int, flag::text AS flag, day::text AS day,
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
        days::text AS days, units::text AS units, doc::text AS doc
      FROM pg_temp.copy_sample ORDER BY n`)
    return rows.map((row) => ({ ...row }))
  })
}

test('every type, null and edge value reads back as PostgreSQL text worked out independently', async () => {
  const stored = await roundTrip(SAMPLES)
  expect(stored).toEqual(SAMPLES.map(expectedText))
})

test('rows across several chunks, and one field larger than a chunk, arrive whole and in order', async () => {
  const big = 'é'.repeat(700_000) // 1.4 MB in UTF-8: more than a chunk on its own
  const items: Sample[] = Array.from({ length: 60_000 }, (_, i) => ({
    ...(SAMPLES[i % SAMPLES.length] as Sample),
    text: i === 30_000 ? big : `row-${i}`,
    int: i,
  }))
  const stored = await roundTrip(items)
  expect(stored.length).toBe(items.length)
  expect(stored.every((row, i) => row.int === String(i))).toBe(true)
  expect(stored[30_000]?.text).toBe(big)
  expect(stored[59_999]).toEqual(expectedText(items[59_999] as Sample))
})

test('COPYs one after the other in a transaction all land (none is cut short by the one before)', async () => {
  const ints: CopyColumn<number>[] = [{ name: 'x', type: 'int8', value: (x) => x }]
  const tables = ['pg_temp.seq_a', 'pg_temp.seq_b', 'pg_temp.seq_c', 'pg_temp.seq_d']
  for (let round = 0; round < 20; round++) {
    const counts = await sql.begin(async (tx) => {
      await Promise.all(tables.map((table) => tx.unsafe(stagingTable(table, ints))))
      for (const [i, table] of tables.entries())
        await copyInto(
          tx,
          table,
          ints,
          binaryCopy(
            ints,
            Array.from({ length: 1000 * (i + 1) }, (_, n) => n),
          ),
        )
      return Promise.all(
        tables.map(
          async (table) =>
            (await tx.unsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${table}`))[0]?.n,
        ),
      )
    })
    expect(counts).toEqual([1000, 2000, 3000, 4000])
  }
})

test('a COPY the server rejects fails the transaction (it does not hang) and leaves no session in it', async () => {
  // Doubles sent into an integer column: PostgreSQL rejects the binary data after the COPY's end.
  const wrong: CopyColumn<number>[] = [{ name: 'x', type: 'float8', value: (x) => x }]
  const attempt = sql.begin(async (tx) => {
    await tx.unsafe('CREATE TEMPORARY TABLE IF NOT EXISTS wrong_type (x int4) ON COMMIT DELETE ROWS')
    await copyInto(tx, 'pg_temp.wrong_type', wrong, binaryCopy(wrong, [1.5, 2.5]))
    await tx`SELECT 1`
  })
  const outcome = await Promise.race([
    attempt.then(
      () => 'committed',
      (error: Error) => `failed: ${error.message}`,
    ),
    Bun.sleep(10_000).then(() => 'hung'),
  ])
  expect(outcome).toStartWith('failed: ')
  const [row] = await sql<{ stuck: number }[]>`
    SELECT count(*)::int AS stuck FROM pg_stat_activity
    WHERE datname = current_database() AND state LIKE 'idle in transaction%'`
  expect(row?.stuck).toBe(0)
})
