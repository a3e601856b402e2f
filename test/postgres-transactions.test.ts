// postgres.js transactions whose session PostgreSQL ends (pg_terminate_backend, as an outage or an
// administrator does) against a real server: consume's commits are such transactions, and the
// driver's own behaviour (porsager/postgres#1155, #1186, #1215) let the callback of a dead
// transaction go on over its connection: into a socket already gone (an uncaught TypeError) or, once
// the pool has reconnected it, into another transaction, which its automatic COMMIT commits halfway
// (an offset moved without its analytics: events lost). scripts/patches/postgres@3.4.9.patch fixes
// it; each test here fails without the patch.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import type { Sql } from 'postgres'
import { connect, Scenarios } from './support/stack.ts'

setDefaultTimeout(60_000)

const scenarios = new Scenarios()
let database: string
let admin: Sql
beforeAll(async () => {
  database = await scenarios.database('transactions')
  admin = connect(database)
  await admin`CREATE TABLE marks (mark text NOT NULL)`
})
afterAll(async () => {
  await admin.end()
  await scenarios.cleanup()
})

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

async function marks(): Promise<string[]> {
  const rows = await admin<{ mark: string }[]>`SELECT mark FROM marks ORDER BY mark`
  return rows.map((row) => row.mark)
}

/**
 * One connection: the first transaction's session is ended while its callback waits on something
 * else; a second transaction is opened on the reconnected connection; then the first callback goes
 * on with `orphan` (which may query, return or throw) while the second is still open.
 */
async function orphanDuring(orphan: (tx: Sql) => Promise<unknown>) {
  await admin`TRUNCATE marks`
  // One connection: the second transaction gets the one the first lost its session on, reconnected.
  const sql = connect(database, undefined, { max: 1 })
  const paused = gate()
  const resumed = gate()
  const first = sql.begin(async (tx) => {
    const [session] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`
    paused.open()
    await admin`SELECT pg_terminate_backend(${session?.pid ?? 0})`
    await resumed.opened
    return orphan(tx as unknown as Sql)
  })
  const firstOutcome = first.then(
    () => 'committed',
    () => 'failed',
  )
  await paused.opened
  expect(await firstOutcome).toBe('failed')
  let orphanSettled = Promise.resolve()
  const second = sql.begin(async (tx) => {
    await tx`INSERT INTO marks VALUES ('second, before the orphan went on')`
    resumed.open()
    orphanSettled = Bun.sleep(200)
    await orphanSettled
    await tx`INSERT INTO marks VALUES ('second, after')`
    throw new Error('the second transaction rolls back')
  })
  const secondOutcome = await second.then(
    () => 'committed',
    (error: Error) => error.message,
  )
  await sql.end()
  return { secondOutcome, marks: await marks() }
}

test("a dead transaction's callback that returns does not commit the next transaction on its connection", async () => {
  const outcome = await orphanDuring(async () => 'done')
  expect(outcome.secondOutcome).toBe('the second transaction rolls back')
  // Without the patch the orphan's automatic COMMIT commits the second transaction's first row.
  expect(outcome.marks).toEqual([])
})

test("a dead transaction's queries fail instead of running in the next transaction", async () => {
  const attempt = { error: '' }
  const outcome = await orphanDuring(async (tx) => {
    try {
      await tx`INSERT INTO marks VALUES ('orphan')`
    } catch (error) {
      attempt.error = (error as { code?: string }).code ?? String(error)
    }
  })
  expect(attempt.error).not.toBe('')
  expect(outcome.marks).toEqual([])
})

test('a BEGIN that fills the pipeline still reserves its connection: nothing else runs in its transaction', async () => {
  await admin`TRUNCATE marks`
  // One connection, one query in flight at most besides the running one: the BEGIN queued behind a
  // running query fills the pipeline (porsager/postgres#1189).
  const sql = connect(database, undefined, { max: 1, max_pipeline: 1 })
  await sql`SELECT 1` // connected: the BEGIN below is pipelined behind the running query
  const running = sql`SELECT pg_sleep(0.2)`.then(() => 'slept')
  const outcome = await sql
    .begin(async (tx) => {
      await tx`INSERT INTO marks VALUES ('in the transaction')`
      // Queued on the pool meanwhile: must wait for the transaction, not run inside it.
      const outside = sql`INSERT INTO marks VALUES ('outside')`.then(() => 'outside done')
      await Bun.sleep(100)
      throw Object.assign(new Error('rolled back'), { outside })
    })
    .then(
      () => ({ message: 'committed', outside: Promise.resolve('') }),
      (error: Error & { outside?: Promise<string> }) => ({
        message: error.message,
        outside: error.outside ?? Promise.resolve(''),
      }),
    )
  expect(await running).toBe('slept')
  expect(outcome.message).toBe('rolled back')
  expect(await outcome.outside).toBe('outside done')
  // The transaction's row rolled back; the other query's row, run after it, stays.
  expect(await marks()).toEqual(['outside'])
  await sql.end()
})
