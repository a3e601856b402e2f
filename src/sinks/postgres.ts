// PostgreSQL: the system of record for `consume`. One transaction per commit (one or more whole
// batches of a partition) writes the latest metrics, the daily history, the day closes, the item
// states, the outboxes and the consumed offset, so a crash at any instant leaves either all of a
// commit or none of it. Every table is written with one statement over arrays (unnest), whatever
// the number of rows, and the statements of a commit are pipelined.
import type { Sql, TransactionSql } from 'postgres'
import { closeModelRecord, type DayClose } from '../core/close.ts'
import { splitItemKey } from '../core/event.ts'
import { ItemDays } from '../core/item-days.ts'
import {
  type DailyDelta,
  type MetricsColumn,
  type MetricsRow,
  METRICS_COLUMNS as SPEC_COLUMNS,
} from '../core/rows.ts'
import { type ItemSnapshot, restoreState, snapshotOf } from '../core/snapshot.ts'
import type { ItemState } from '../core/state.ts'
import { crashPoint } from '../crash-points.ts'
import { arrayLiteral, SEPARATOR_CODE, separatedTexts } from '../postgres/arrays.ts'
import type { OutgoingAlert } from './kafka.ts'
import { packRows } from './metrics-pack.ts'

/** Another consumer committed this partition past the offset we started from: our work is stale. */
export class FencedError extends Error {
  override name = 'FencedError'
}

/** An alert message waiting in analytics.alert_outbox. */
export interface StoredAlert extends OutgoingAlert {
  outboxId: number
}

export interface PartitionPosition {
  topic: string
  partition: number
  /** The offset this instance resumed from (null: nothing committed yet). */
  expectedOffset: number | null
  nextOffset: number
}

/** What one PostgreSQL commit writes of the analytics: shared by consume and replay. */
export interface AnalyticsWrite {
  /** The latest row of each item (an item at most once). */
  rows: readonly MetricsRow[]
  /** One delta per (item, day), added to what is stored. */
  daily: readonly DailyDelta[]
  /** At most one per (item, day), replacing what is stored. */
  closes: readonly DayClose[]
}

/** A commit of consume: the analytics, the states to resume from and the rows for the Parquet archive. */
export interface CommitContent extends AnalyticsWrite {
  /** The states of the changed items, each at most once. */
  states: readonly ItemState[]
  /** Every row emitted (every batch's): for the Parquet archive. Default: `rows`. */
  archive?: readonly MetricsRow[]
}

/**
 * A column written from arrays: its name, the type its values travel as (an array literal of
 * `type`, or for `json` one JSON array of them all), and the SQL that turns one element into the
 * column's value (days and epoch milliseconds travel as numbers).
 */
interface ArrayColumn<T> {
  name: string
  type: 'text' | 'float8' | 'int4' | 'json'
  value: (item: T) => unknown
  sql?: (element: string) => string
}

const asDate = (e: string) => `date '1970-01-01' + ${e}`
const asTimestamp = (e: string) => `to_timestamp(0) + ${e} * interval '1 millisecond'`
const asBoolean = (e: string) => `${e}::bool`

/** SPEC §7's columns as PostgreSQL takes them: days and epoch milliseconds travel as numbers. */
const METRICS_COLUMNS: ArrayColumn<MetricsRow>[] = SPEC_COLUMNS.map((c: MetricsColumn) => ({
  name: c.name,
  type: c.kind === 'string' ? 'text' : c.kind === 'date' ? 'int4' : 'float8',
  value: (row: MetricsRow) => row[c.field],
  sql: c.kind === 'date' ? asDate : c.kind === 'timestamp' ? asTimestamp : undefined,
}))

/**
 * One (item, day) of a commit: the day's delta of the daily history, the item's close of the day,
 * or both; one row of analytics.daily_inventory (migration 8 keeps the closes there).
 */
interface DayRow {
  sku: string
  warehouseId: string
  day: number
  delta: DailyDelta | null
  close: DayClose | null
}

/** json_array_elements gives JSON's null as a json value: the close columns of a row without one. */
const asJsonOrNull = (e: string) => `CASE WHEN json_typeof(${e}) = 'null' THEN NULL ELSE ${e} END`

/**
 * The daily history's columns, then the close's (null without one). A close-only row that is new
 * (its day's events came in an earlier commit, so this never inserts in practice) says nothing happened.
 */
const DAY_COLUMNS: ArrayColumn<DayRow>[] = [
  { name: 'sku', type: 'text', value: (r) => r.sku },
  { name: 'warehouse_id', type: 'text', value: (r) => r.warehouseId },
  { name: 'date', type: 'int4', value: (r) => r.day, sql: asDate },
  { name: 'sold', type: 'float8', value: (r) => r.delta?.sold ?? 0 },
  { name: 'returned', type: 'float8', value: (r) => r.delta?.returned ?? 0 },
  { name: 'received', type: 'float8', value: (r) => r.delta?.received ?? 0 },
  { name: 'adjusted', type: 'float8', value: (r) => r.delta?.adjusted ?? 0 },
  {
    name: 'closing_on_hand',
    type: 'float8',
    value: (r) => (r.delta === null ? r.close?.onHand : r.delta.closingOnHand),
  },
  {
    name: 'stockout',
    type: 'text',
    value: (r) => ((r.delta?.stockout ?? (r.close?.onHand ?? 1) <= 0) ? 't' : 'f'),
    sql: asBoolean,
  },
  { name: 'close_on_hand', type: 'float8', value: (r) => r.close?.onHand ?? null },
  { name: 'first_date', type: 'int4', value: (r) => r.close?.firstDay ?? null, sql: asDate },
  { name: 'lead_time_days', type: 'float8', value: (r) => r.close?.leadTimeOverride ?? null },
  { name: 'sales', type: 'json', value: (r) => r.close?.sales ?? null, sql: asJsonOrNull },
  {
    name: 'model',
    type: 'json',
    value: (r) => (r.close === null ? null : closeModelRecord(r.close)),
    sql: asJsonOrNull,
  },
]

const CLOSE_COLUMN_NAMES = ['close_on_hand', 'first_date', 'lead_time_days', 'sales', 'model']

/**
 * INSERT … SELECT FROM unnest of one array per column: one statement and one parameter per column
 * whatever the number of rows (no statement per row, no JSON object per row to take apart). A JSON
 * array is split as json, not jsonb: taking a large jsonb array apart cost PostgreSQL twice as much.
 */
function bulkInsert<T>(table: string, columns: ArrayColumn<T>[], onConflict: string): string {
  const names = columns.map((c) => c.name)
  const selected = columns.map((c, i) => (c.sql ?? ((e: string) => e))(`u.c${i}`))
  const sources = columns.map((c, i) =>
    c.type === 'json' ? `json_array_elements($${i + 1}::text::json)` : `unnest($${i + 1}::${c.type}[])`,
  )
  return `INSERT INTO ${table} AS t (${names.join(', ')})
    SELECT ${selected.join(', ')} FROM ROWS FROM (${sources.join(', ')}) AS u(${columns.map((_, i) => `c${i}`).join(', ')})
    ${onConflict}`
}

const replaceAll = (key: string[], columns: ArrayColumn<unknown>[]) =>
  `ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${columns
    .filter((c) => !key.includes(c.name))
    .map((c) => `${c.name} = excluded.${c.name}`)
    .join(', ')}`

const UPSERT_METRICS = bulkInsert(
  'analytics.processed_metrics',
  METRICS_COLUMNS,
  replaceAll(['sku', 'warehouse_id'], METRICS_COLUMNS as ArrayColumn<unknown>[]),
)
// Units add up across commits; the closing stock of the latest wins; a stockout stays a stockout;
// a close, when the row brings one (sales is never null in a close), replaces the stored one.
const ADD_DAYS = bulkInsert(
  'analytics.daily_inventory',
  DAY_COLUMNS,
  `ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
    sold = t.sold + excluded.sold, returned = t.returned + excluded.returned,
    received = t.received + excluded.received, adjusted = t.adjusted + excluded.adjusted,
    closing_on_hand = excluded.closing_on_hand, stockout = t.stockout OR excluded.stockout,
    ${CLOSE_COLUMN_NAMES.map((c) => `${c} = CASE WHEN excluded.sales IS NULL THEN t.${c} ELSE excluded.${c} END`).join(', ')}`,
)
// Closes of days this commit has no delta for (the item's events were late ones, dated earlier):
// the day's history stays as it is.
const REPLACE_CLOSES = bulkInsert(
  'analytics.daily_inventory',
  DAY_COLUMNS,
  `ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
    ${CLOSE_COLUMN_NAMES.map((c) => `${c} = excluded.${c}`).join(', ')}`,
)

/** The commit's deltas and closes by (item, day): the days with a delta, and the closes of other days. */
function dayRows(daily: readonly DailyDelta[], closes: readonly DayClose[]): [DayRow[], DayRow[]] {
  const withDelta = new ItemDays<DayRow>()
  for (const delta of daily) {
    const { sku, warehouseId, day } = delta
    withDelta.set(delta.key, { sku, warehouseId, day, delta, close: null })
  }
  const closesOnly: DayRow[] = []
  for (const close of closes) {
    const row = withDelta.get(close.key, close.day)
    if (row !== undefined) row.close = close
    else {
      const [sku, warehouseId] = splitItemKey(close.key)
      closesOnly.push({ sku, warehouseId, day: close.day, delta: null, close })
    }
  }
  return [withDelta.values(), closesOnly]
}

/** The parameters of a bulkInsert: one array literal (or JSON array) per column. */
function columnArrays<T>(columns: ArrayColumn<T>[], items: readonly T[]): string[] {
  return columns.map((c) =>
    c.type === 'json'
      ? JSON.stringify(items.map(c.value))
      : arrayLiteral(items.map(c.value) as (string | number | null)[]),
  )
}

/**
 * One statement of a commit, its parameters already built: a commit serialises everything before
 * its first wait, because the states it stores are the engine's own objects, which the next
 * batches move on.
 */
type Statement<T = unknown> = (tx: TransactionSql) => Promise<T>

/** The analytics statements of one commit (or one replay batch), one per table. */
function analyticsStatements(write: AnalyticsWrite): Statement[] {
  const statements: Statement[] = []
  const add = <T>(query: string, columns: ArrayColumn<T>[], items: readonly T[]) => {
    if (items.length === 0) return
    const parameters = columnArrays(columns, items)
    // Prepared once per connection: postgres.js leaves unsafe() unprepared by default, which made
    // PostgreSQL parse and plan each statement at every commit, after a round trip to describe it.
    statements.push((tx) => tx.unsafe(query, parameters, { prepare: true }))
  }
  add(UPSERT_METRICS, METRICS_COLUMNS, write.rows)
  const [days, closesOnly] = dayRows(write.daily, write.closes)
  add(ADD_DAYS, DAY_COLUMNS, days)
  add(REPLACE_CLOSES, DAY_COLUMNS, closesOnly)
  return statements
}

/** Sends statements one after the other without waiting for each answer (postgres.js pipelines a transaction's queries). */
function pipelined(tx: TransactionSql, statements: Statement[]): Promise<unknown[]> {
  return Promise.all(statements.map((statement) => statement(tx)))
}

/** Writes the analytics of one replay batch (consume writes them with its commit). */
export function writeAnalytics(tx: TransactionSql, write: AnalyticsWrite): Promise<unknown[]> {
  return pipelined(tx, analyticsStatements(write))
}

export class PostgresStore {
  /**
   * `archiveRowsPerEntry`: the most rows one Parquet outbox entry holds (PARQUET_ROWS_PER_FILE, so
   * that no file needs more).
   */
  constructor(
    readonly sql: Sql,
    readonly groupId: string,
    private readonly archiveRowsPerEntry = 100_000,
  ) {}

  /** The offset to resume a partition from; null when nothing was committed for it yet. */
  async storedOffset(topic: string, partition: number): Promise<number | null> {
    const [offset] = await this.sql<{ next_offset: number }[]>`
      SELECT next_offset FROM analytics.consumer_offsets
      WHERE group_id = ${this.groupId} AND topic = ${topic} AND partition = ${partition}`
    return offset?.next_offset ?? null
  }

  /** The offsets committed for every partition of a topic. */
  async storedOffsets(topic: string): Promise<Map<number, number>> {
    const rows = await this.sql<{ partition: number; next_offset: number }[]>`
      SELECT partition, next_offset FROM analytics.consumer_offsets WHERE group_id = ${this.groupId} AND topic = ${topic}`
    return new Map(rows.map((row) => [row.partition, row.next_offset]))
  }

  /** The saved states of a partition's items and the offset to resume from. */
  async loadPartition(
    topic: string,
    partition: number,
  ): Promise<{ states: ItemState[]; nextOffset: number | null }> {
    const nextOffset = await this.storedOffset(topic, partition)
    const rows = await this.sql<{ state: ItemSnapshot }[]>`
      SELECT state FROM analytics.item_state
      WHERE group_id = ${this.groupId} AND topic = ${topic} AND partition = ${partition}`
    return { states: rows.map((row) => restoreState(row.state)), nextOffset }
  }

  /**
   * Commits one or more whole batches of one partition, and returns the outbox ids of their alert
   * messages (for markAlertsSent). Throws FencedError, writing nothing, when the stored offset is no
   * longer the one this instance resumed from (another instance has taken the partition).
   */
  commitBatch(position: PartitionPosition, content: CommitContent, alerts: readonly OutgoingAlert[]) {
    return this.prepareCommit(position, content, alerts)()
  }

  /**
   * commitBatch in two steps: everything the commit writes is serialised now (the states are the
   * engine's own objects, which later batches move on), the transaction runs when the function
   * returned is called.
   */
  prepareCommit(
    position: PartitionPosition,
    content: CommitContent,
    alerts: readonly OutgoingAlert[],
  ): () => Promise<number[]> {
    const insertAlerts = this.insertAlerts(alerts)
    const statements = [
      ...analyticsStatements(content),
      ...this.saveStates(position, content.states),
      ...this.archive(content.archive ?? content.rows),
    ]
    return () =>
      this.sql.begin(async (tx) => {
        await this.advanceOffset(tx, position)
        const [outboxIds] = await Promise.all([insertAlerts(tx), pipelined(tx, statements)])
        crashPoint('commit')
        return outboxIds
      })
  }

  /**
   * The rows for the Parquet archive, packed, in entries of at most archiveRowsPerEntry rows (so
   * that a drain can fill files of PARQUET_ROWS_PER_FILE rows from whole entries).
   */
  private archive(rows: readonly MetricsRow[]): Statement[] {
    const size = this.archiveRowsPerEntry
    return Array.from({ length: Math.ceil(rows.length / size) }, (_, i) => {
      const entry = rows.slice(i * size, (i + 1) * size)
      const packed = packRows(entry)
      // As base64, decoded by PostgreSQL: postgres.js sends a bytea parameter as hex, twice its size.
      const text = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('base64')
      // Sent in order, so that the entries' ids keep the rows' order.
      return (tx: TransactionSql) =>
        tx`INSERT INTO analytics.metrics_outbox (packed, row_count)
          VALUES (decode(${text}, 'base64'), ${entry.length})`
    })
  }

  private saveStates(position: PartitionPosition, states: readonly ItemState[]): Statement[] {
    if (states.length === 0) return []
    const keys = states.map((state) => splitItemKey(state.key))
    const skus = arrayLiteral(keys.map((k) => k[0]))
    const warehouses = arrayLiteral(keys.map((k) => k[1]))
    const snapshots = JSON.stringify(states.map(snapshotOf))
    return [
      (tx) => tx`
        INSERT INTO analytics.item_state (group_id, sku, warehouse_id, topic, partition, state)
        SELECT ${this.groupId}, s.sku, s.warehouse_id, ${position.topic}, ${position.partition}, s.state
        FROM ROWS FROM (unnest(${skus}::text[]), unnest(${warehouses}::text[]),
          json_array_elements(${snapshots}::text::json)) AS s(sku, warehouse_id, state)
        ON CONFLICT (group_id, sku, warehouse_id) DO UPDATE SET
          state = excluded.state, topic = excluded.topic, partition = excluded.partition`,
    ]
  }

  /**
   * Every message is a row of its own (no key on alert_id, which an episode's messages share; none
   * on message_id either, see migration 3), in the order the events raised them: the outbox id
   * orders a re-send, and names the rows a confirmed send deletes.
   */
  private insertAlerts(alerts: readonly OutgoingAlert[]): Statement<number[]> {
    if (alerts.length === 0) return async () => []
    const alertIds = arrayLiteral(alerts.map((a) => a.alertId))
    const messageIds = arrayLiteral(alerts.map((a) => a.messageId))
    const keys = arrayLiteral(alerts.map((a) => a.key))
    const values = separatedTexts(alerts.map((a) => a.value))
    return async (tx) => {
      const inserted = await tx<{ id: number }[]>`
        INSERT INTO analytics.alert_outbox (alert_id, message_id, item_key, value)
        SELECT a.alert_id, a.message_id, a.item_key, a.value
        FROM ROWS FROM (unnest(${alertIds}::text[]), unnest(${messageIds}::text[]), unnest(${keys}::text[]),
          string_to_table(${values}, chr(${SEPARATOR_CODE}))) WITH ORDINALITY AS a(alert_id, message_id, item_key, value, n)
        ORDER BY a.n
        RETURNING id`
      // Assigned in the ORDER BY's order: ascending ids are the alerts' order.
      return inserted.map((row) => Number(row.id)).sort((a, b) => a - b)
    }
  }

  private async advanceOffset(tx: TransactionSql, position: PartitionPosition): Promise<void> {
    const { topic, partition, expectedOffset, nextOffset } = position
    const result =
      expectedOffset === null
        ? await tx`
            INSERT INTO analytics.consumer_offsets (group_id, topic, partition, next_offset)
            VALUES (${this.groupId}, ${topic}, ${partition}, ${nextOffset})
            ON CONFLICT DO NOTHING`
        : await tx`
            UPDATE analytics.consumer_offsets SET next_offset = ${nextOffset}, updated_at = now()
            WHERE group_id = ${this.groupId} AND topic = ${topic} AND partition = ${partition}
              AND next_offset = ${expectedOffset}`
    if (result.count !== 1) {
      throw new FencedError(
        `${topic}[${partition}]: offset moved by another consumer; re-reading the partition`,
      )
    }
  }

  /**
   * Ends the sessions of invpipe that PostgreSQL has been waiting on for the rest of a message for
   * longer than `seconds`, inside a transaction ('active', ClientRead): a process frozen halfway
   * through sending a pipelined commit (a large statement does not fit the socket's buffer).
   * PostgreSQL ends a session idle in a transaction after idle_in_transaction_session_timeout, but
   * not one in the middle of a message, and it keeps the partition's offset row locked for as long
   * as the process stays frozen. Returns the process ids ended.
   */
  async endStalledSessions(seconds: number): Promise<number[]> {
    // The sessions are chosen first (MATERIALIZED): in a plain WHERE, PostgreSQL may call
    // pg_terminate_backend before the conditions that rule a session out.
    const ended = await this.sql<{ pid: number }[]>`
      WITH stalled AS MATERIALIZED (
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'invpipe' AND pid <> pg_backend_pid()
          AND state = 'active' AND wait_event = 'ClientRead' AND xact_start IS NOT NULL
          AND state_change < now() - make_interval(secs => ${seconds}))
      SELECT pid FROM stalled WHERE pg_terminate_backend(pid)`
    return ended.map((row) => row.pid)
  }

  /**
   * Alerts committed at least `olderThanSeconds` ago but not yet confirmed sent (a crash or a Kafka
   * error came between), oldest first. The age keeps instances from re-sending what another is
   * sending right now.
   */
  async unsentAlerts(olderThanSeconds: number, limit = 1000): Promise<StoredAlert[]> {
    const rows = await this.sql<
      { id: number; alert_id: string; message_id: string; item_key: string; value: string }[]
    >`
      SELECT id, alert_id, message_id, item_key, value FROM analytics.alert_outbox
      WHERE sent_at IS NULL AND created_at <= now() - make_interval(secs => ${olderThanSeconds})
      ORDER BY id LIMIT ${limit}`
    return rows.map((row) => ({
      outboxId: Number(row.id),
      alertId: row.alert_id,
      messageId: row.message_id,
      key: row.item_key,
      value: row.value,
    }))
  }

  /** Marks the messages the alert topic has acknowledged: they stay, as the items' alert log. */
  async markAlertsSent(outboxIds: readonly number[]): Promise<void> {
    if (outboxIds.length > 0)
      await this.sql`
        UPDATE analytics.alert_outbox SET sent_at = now()
        WHERE id = ANY(${outboxIds as number[]}::bigint[]) AND sent_at IS NULL`
  }

  /** Deletes the messages sent more than `days` ago (the alert log's retention); how many. */
  async forgetSentAlerts(days: number): Promise<number> {
    const deleted = await this.sql`
      DELETE FROM analytics.alert_outbox WHERE sent_at < now() - make_interval(days => ${days})`
    return deleted.count
  }
}
