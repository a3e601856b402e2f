// Runs that can be told apart: replay's run id and settings in every Parquet file's key-value
// metadata (read with DuckDB, as the README shows), the same as its --json summary says.
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'

setDefaultTimeout(60_000)
const ROOT = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-run-id-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test("each Parquet file carries the run's id and settings, as --json reports them", async () => {
  const data = join(dir, 'data')
  const proc = Bun.spawnSync(
    [
      'bun',
      join(ROOT, 'src/main.ts'),
      'replay',
      join(ROOT, 'fixtures/sample-events.jsonl'),
      '--json',
      '--data-dir',
      data,
      '--lead-time-days',
      '9',
    ],
    { cwd: dir, env: { PATH: process.env.PATH ?? '' } },
  )
  expect(proc.exitCode).toBe(0)
  const summary = JSON.parse(proc.stdout.toString())
  const db = await DuckDBInstance.create(':memory:')
  const connection = await db.connect()
  const rows = (
    await connection.runAndReadAll(
      `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata('${data}/*.parquet') ORDER BY key`,
    )
  ).getRowObjects()
  expect(rows).toEqual([
    { key: 'invpipe.run_id', value: summary.run_id },
    { key: 'invpipe.settings', value: JSON.stringify(summary.settings) },
  ])
  expect(JSON.parse(rows[1]?.value as string).lead_time_days).toBe(9)
})
