// The parameters consume's commits send as text, read back by a real PostgreSQL exactly as given:
// array literals (src/postgres/arrays.ts) and texts joined by the record separator.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Sql } from 'postgres'
import { arrayLiteral, SEPARATOR_CODE, separatedTexts } from '../src/postgres/arrays.ts'
import { connect, Scenarios } from './support/stack.ts'

const scenarios = new Scenarios()
let sql: Sql
beforeAll(async () => {
  sql = connect(await scenarios.database('arrays'))
})
afterAll(async () => {
  await sql.end()
  await scenarios.cleanup()
})

const AWKWARD = [
  'plain',
  'say "hi"',
  'back\\slash',
  'a,b',
  '{braces}',
  'NULL',
  ' padded ',
  '',
  'Ω-7 😀',
  'line\nbreak',
]

test('an array literal gives every text, null and number back exactly, in order', async () => {
  const texts = [...AWKWARD, null]
  const numbers = [0.1 + 0.2, -1.5, 2 ** 53 - 1, 1e-300, null, 7]
  // Read back as JSON: postgres.js parses a text[] result's quoted "NULL" as a null.
  const [row] = await sql<{ texts: (string | null)[]; numbers: (number | null)[] }[]>`
    SELECT array_to_json(${arrayLiteral(texts)}::text[]) AS texts,
      array_to_json(${arrayLiteral(numbers)}::float8[]) AS numbers`
  expect(row?.texts).toEqual(texts)
  expect(row?.numbers).toEqual(numbers)
})

test('texts joined by the record separator come back one row each, in order', async () => {
  const texts = [
    ...AWKWARD.filter((text) => text !== ''),
    JSON.stringify({ reason: 'a "quoted"\\ \u001e reason' }),
  ]
  const rows = await sql<{ text: string }[]>`
    SELECT t AS text FROM string_to_table(${separatedTexts(texts)}, chr(${SEPARATOR_CODE})) WITH ORDINALITY AS s(t, n)
    ORDER BY n`
  expect(rows.map((row) => row.text)).toEqual(texts)
})

test('a text holding the separator is refused, not split', () => {
  expect(() => separatedTexts(['a', 'b\u001ec'])).toThrow('record separator')
})
