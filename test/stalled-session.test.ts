// A client that stops halfway through a pipelined commit (its process frozen while it sends) leaves
// its PostgreSQL session in the middle of a message: 'active', waiting for the client, inside its
// transaction, holding the rows it updated. PostgreSQL never ends such a session by itself;
// PostgresStore.endStalledSessions does, and the offset row is free again. The stalled client is a
// raw socket speaking PostgreSQL's protocol, which sends a statement but never the Sync after it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type Socket, connect as tcpConnect } from 'node:net'
import type { Sql } from 'postgres'
import { PostgresStore } from '../src/sinks/postgres.ts'
import { Scenarios } from './support/stack.ts'

const scenarios = new Scenarios()
let database = ''
let sql: Sql
beforeAll(async () => {
  ;({ database, sql } = await scenarios.migrated('stalled'))
  await sql`INSERT INTO analytics.consumer_offsets (group_id, topic, partition, next_offset) VALUES ('g', 't', 0, 10)`
})
afterAll(() => scenarios.cleanup())

/** A protocol message: its type byte, then its length (itself included) and body. */
function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0)
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

const cstring = (text: string) => Buffer.from(`${text}\0`)

/** Opens a session as invpipe's (trust authentication, as the local stack has it); null otherwise. */
async function rawSession(): Promise<Socket | null> {
  const socket = tcpConnect(
    Number(process.env.POSTGRES_PORT ?? 5432),
    process.env.POSTGRES_HOST ?? 'localhost',
  )
  const parameters = Buffer.concat([
    Buffer.from([0, 3, 0, 0]),
    cstring('user'),
    cstring(process.env.POSTGRES_USER ?? 'inventory_user'),
    cstring('database'),
    cstring(database),
    cstring('application_name'),
    cstring('invpipe'),
    Buffer.from([0]),
  ])
  const length = Buffer.alloc(4)
  length.writeInt32BE(parameters.length + 4)
  socket.write(Buffer.concat([length, parameters]))
  let received = Buffer.alloc(0)
  const ready = await new Promise<boolean>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      // An authentication request other than "ok" (R, 8 bytes, then 0) means a password is wanted.
      if (received[0] === 0x52 && received.readInt32BE(5) !== 0) resolve(false)
      // ReadyForQuery: Z, length 5, status.
      if (received.length >= 6 && received.subarray(-6, -1).equals(Buffer.from([0x5a, 0, 0, 0, 5])))
        resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
  if (ready) return socket
  socket.destroy()
  return null
}

describe('a session stalled in the middle of a commit', () => {
  test('holds the offset row until endStalledSessions ends it, not before it has stalled for the time given', async () => {
    const stalled = await rawSession()
    if (stalled === null) {
      console.log('stalled-session test skipped: the server wants a password')
      return
    }
    try {
      stalled.write(message('Q', cstring('BEGIN')))
      await Bun.sleep(100)
      // Parse, Bind, Execute and Flush, but no Sync: the statement runs, then the server waits for
      // the rest of the exchange with the statement still "active" and its row locked.
      const update = "UPDATE analytics.consumer_offsets SET next_offset = 11 WHERE group_id = 'g'"
      stalled.write(
        Buffer.concat([
          message('P', Buffer.concat([cstring(''), cstring(update), Buffer.from([0, 0])])),
          message('B', Buffer.concat([cstring(''), cstring(''), Buffer.from([0, 0, 0, 0, 0, 0])])),
          message('E', Buffer.concat([cstring(''), Buffer.alloc(4)])),
          message('H', Buffer.alloc(0)),
        ]),
      )
      await Bun.sleep(300)
      const store = new PostgresStore(sql, 'g')
      const lockedUpdate = () =>
        sql.begin(async (tx) => {
          await tx`SET LOCAL lock_timeout = 500`
          await tx`UPDATE analytics.consumer_offsets SET next_offset = 12 WHERE group_id = 'g'`
        })
      await expect(lockedUpdate()).rejects.toMatchObject({ code: '55P03' })
      // Not stalled long enough yet: nothing is ended.
      expect(await store.endStalledSessions(60)).toEqual([])
      await Bun.sleep(1_100)
      const ended = await store.endStalledSessions(1)
      expect(ended).toHaveLength(1)
      await lockedUpdate()
      const [row] = await sql<{ next_offset: number }[]>`SELECT next_offset FROM analytics.consumer_offsets`
      // The stalled transaction was rolled back: its 11 never landed.
      expect(row?.next_offset).toBe(12)
    } finally {
      stalled.destroy()
    }
  })
})
