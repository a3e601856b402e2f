// PostgreSQL: the system of record for `consume`. One transaction per commit (one or more whole
// batches of a partition) writes the latest metrics, the daily history, the day closes, the item
// states, the outboxes and the consumed offset, so a crash at any instant leaves either all of a
// commit or none of it. Each table's rows travel in one binary COPY into a staging table and are
// merged by one statement, whatever their number; the merges of a commit are pipelined.
import type { Sql, TransactionSql } from 'postgres'
import { closeRow, type DayClose } from '../core/close.ts'
import { splitItemKey } from '../core/event.ts'
import {
  type ColumnKind,
  type DailyDelta,
  type MetricsColumn,
  type MetricsRow,
  METRICS_COLUMNS as SPEC_COLUMNS,
} from '../core/rows.ts'
import { type ItemSnapshot, restoreState, snapshotOf } from '../core/snapshot.ts'
import type { ItemState } from '../core/state.ts'
import { crashPoint } from '../crash-points.ts'
import { arrayLiteral } from '../postgres/arrays.ts'
import { binaryCopy, type CopyColumn, type CopyType, copyInto, stagingTable } from '../postgres/copy.ts'
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
 * A table written through a staging table of the session: its rows are sent by binary COPY, then
 * merged by one statement (`merge`, its parameters given with the rows).
 */
interface StagedTable<T> {
  staging: string
  columns: readonly CopyColumn<T>[]
  merge: string
}

const COPY_TYPES: Record<ColumnKind, CopyType> = {
  string: 'text',
  date: 'date',
  timestamp: 'timestamptz',
  int64: 'int8',
  double: 'float8',
}

/** INSERT … SELECT the staged rows into `table`, every column by name; `onConflict` says how to merge. */
function staged<T>(table: string, staging: string, columns: readonly CopyColumn<T>[], onConflict: string) {
  const names = columns.map((c) => c.name).join(', ')
  return {
    staging,
    columns,
    merge: `INSERT INTO ${table} AS t (${names}) SELECT ${names} FROM ${staging} ${onConflict}`,
  }
}

const replaceAll = (key: string[], columns: readonly CopyColumn<never>[]) =>
  `ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${columns
    .filter((c) => !key.includes(c.name))
    .map((c) => `${c.name} = excluded.${c.name}`)
    .join(', ')}`

/** SPEC §7's columns (src/core/rows.ts), as PostgreSQL types. */
const METRICS_COLUMNS: CopyColumn<MetricsRow>[] = SPEC_COLUMNS.map((c: MetricsColumn) => ({
  name: c.name,
  type: COPY_TYPES[c.kind],
  value: (row: MetricsRow) => row[c.field],
}))

const METRICS: StagedTable<MetricsRow> = staged(
  'analytics.processed_metrics',
  'pg_temp.invpipe_metrics',
  METRICS_COLUMNS,
  replaceAll(['sku', 'warehouse_id'], METRICS_COLUMNS),
)

const DAILY_COLUMNS: CopyColumn<DailyDelta>[] = [
  { name: 'sku', type: 'text', value: (d) => d.sku },
  { name: 'warehouse_id', type: 'text', value: (d) => d.warehouseId },
  { name: 'date', type: 'date', value: (d) => d.day },
  { name: 'sold', type: 'float8', value: (d) => d.sold },
  { name: 'returned', type: 'float8', value: (d) => d.returned },
  { name: 'received', type: 'float8', value: (d) => d.received },
  { name: 'adjusted', type: 'float8', value: (d) => d.adjusted },
  { name: 'closing_on_hand', type: 'float8', value: (d) => d.closingOnHand },
  { name: 'stockout', type: 'bool', value: (d) => d.stockout },
]

// Units add up across commits; the closing stock of the latest wins; a stockout stays a stockout.
const DAILY: StagedTable<DailyDelta> = staged(
  'analytics.daily_inventory',
  'pg_temp.invpipe_daily',
  DAILY_COLUMNS,
  `ON CONFLICT (sku, warehouse_id, date) DO UPDATE SET
    sold = t.sold + excluded.sold, returned = t.returned + excluded.returned,
    received = t.received + excluded.received, adjusted = t.adjusted + excluded.adjusted,
    closing_on_hand = excluded.closing_on_hand, stockout = t.stockout OR excluded.stockout`,
)

type CloseRow = ReturnType<typeof closeRow>

const CLOSE_COLUMNS: CopyColumn<CloseRow>[] = [
  { name: 'sku', type: 'text', value: (c) => c.sku },
  { name: 'warehouse_id', type: 'text', value: (c) => c.warehouseId },
  { name: 'date', type: 'date', value: (c) => c.day },
  { name: 'on_hand', type: 'float8', value: (c) => c.onHand },
  { name: 'first_date', type: 'date', value: (c) => c.firstDay },
  { name: 'lead_time_days', type: 'float8', value: (c) => c.leadTimeDays },
  { name: 'sales_dates', type: 'date[]', value: (c) => c.salesDays },
  { name: 'sales_units', type: 'float8[]', value: (c) => c.salesUnits },
  { name: 'model', type: 'json', value: (c) => JSON.stringify(c.model) },
]

const CLOSES: StagedTable<CloseRow> = staged(
  'analytics.daily_close',
  'pg_temp.invpipe_close',
  CLOSE_COLUMNS,
  replaceAll(['sku', 'warehouse_id', 'date'], CLOSE_COLUMNS),
)

interface StateRow {
  sku: string
  warehouseId: string
  state: string
}

const STATE_COLUMNS: CopyColumn<StateRow>[] = [
  { name: 'sku', type: 'text', value: (s) => s.sku },
  { name: 'warehouse_id', type: 'text', value: (s) => s.warehouseId },
  { name: 'state', type: 'json', value: (s) => s.state },
]

/** The item states of one partition ($1 the group, $2 the topic, $3 the partition). */
const STATES: StagedTable<StateRow> = {
  staging: 'pg_temp.invpipe_state',
  columns: STATE_COLUMNS,
  merge: `INSERT INTO analytics.item_state (group_id, sku, warehouse_id, topic, partition, state)
    SELECT $1, sku, warehouse_id, $2, $3, state FROM pg_temp.invpipe_state
    ON CONFLICT (group_id, sku, warehouse_id) DO UPDATE SET
      state = excluded.state, topic = excluded.topic, partition = excluded.partition`,
}

/** One table's rows of a commit, already encoded: staged by COPY, then merged. */
interface Load {
  table: StagedTable<never>
  content: Buffer[]
  parameters: unknown[]
}

function load<T>(table: StagedTable<T>, items: readonly T[], parameters: unknown[] = []): Load[] {
  if (items.length === 0) return []
  return [{ table: table as StagedTable<never>, content: binaryCopy(table.columns, items), parameters }]
}

/**
 * One statement of a commit, its parameters already built: a commit serialises everything before
 * its first wait, because the states it stores are the engine's own objects, which the next
 * batches move on.
 */
type Statement<T = unknown> = (tx: TransactionSql) => Promise<T>

/** The analytics of one commit (or one replay batch), one load per table. */
function analyticsLoads(write: AnalyticsWrite): Load[] {
  return [
    ...load(METRICS, write.rows),
    ...load(DAILY, write.daily),
    ...load(CLOSES, write.closes.map(closeRow)),
  ]
}

/** Creates the loads' staging tables where the session has none yet, and fills them (empty since the last commit). */
async function stage(tx: TransactionSql, loads: readonly Load[]): Promise<void> {
  await Promise.all(loads.map((l) => tx.unsafe(stagingTable(l.table.staging, l.table.columns))))
  // One COPY after the other: nothing else may run on the connection during a COPY.
  for (const l of loads) await copyInto(tx, l.table.staging, l.table.columns, l.content)
}

/** The staged rows into their tables, the statements sent without waiting for each answer (pipelined). */
function merge(tx: TransactionSql, loads: readonly Load[]): Promise<unknown>[] {
  // Prepared once per connection: postgres.js leaves unsafe() unprepared by default, which made
  // PostgreSQL parse and plan each statement at every commit, after a round trip to describe it.
  return loads.map((l) => tx.unsafe(l.table.merge, l.parameters as never[], { prepare: true }))
}

/** Writes the analytics of one replay batch (consume writes them with its commit). */
export async function writeAnalytics(tx: TransactionSql, write: AnalyticsWrite): Promise<void> {
  const loads = analyticsLoads(write)
  await stage(tx, loads)
  await Promise.all(merge(tx, loads))
}

function stateRow(state: ItemState): StateRow {
  const [sku, warehouseId] = splitItemKey(state.key)
  return { sku, warehouseId, state: JSON.stringify(snapshotOf(state)) }
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
    const loads = [...analyticsLoads(content), ...this.stateLoad(position, content.states)]
    const archive = this.archive(content.archive ?? content.rows)
    return () =>
      this.sql.begin(async (tx) => {
        await this.advanceOffset(tx, position)
        await stage(tx, loads)
        const [outboxIds] = await Promise.all([
          insertAlerts(tx),
          ...merge(tx, loads),
          ...archive.map((statement) => statement(tx)),
        ])
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

  /** The states of a partition's changed items. */
  private stateLoad(position: PartitionPosition, states: readonly ItemState[]): Load[] {
    return load(STATES, states.map(stateRow), [this.groupId, position.topic, position.partition])
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
    const values = arrayLiteral(alerts.map((a) => a.value))
    return async (tx) => {
      const inserted = await tx<{ id: number }[]>`
        INSERT INTO analytics.alert_outbox (alert_id, message_id, item_key, value)
        SELECT a.alert_id, a.message_id, a.item_key, a.value
        FROM unnest(${alertIds}::text[], ${messageIds}::text[], ${keys}::text[], ${values}::text[])
          WITH ORDINALITY AS a(alert_id, message_id, item_key, value, n)
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
   * through sending a commit (a COPY's rows or a statement larger than the socket's buffer).
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
