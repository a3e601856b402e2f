// Versioned schema migrations (SPEC §7), applied in order by `invpipe migrate` and at `consume`
// start-up. A migration, once released, is never edited: changes come as a new version.
import type { Sql, TransactionSql } from 'postgres'
import { errorCode, UsageError } from '../errors.ts'

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'analytics tables',
    sql: `
      CREATE SCHEMA IF NOT EXISTS analytics;

      -- SPEC §7: the latest row per item.
      CREATE TABLE analytics.processed_metrics (
        sku text NOT NULL,
        warehouse_id text NOT NULL,
        as_of_date date NOT NULL,
        last_event_at timestamptz NOT NULL,
        event_count bigint NOT NULL,
        on_hand double precision,
        velocity_7d double precision NOT NULL,
        velocity_30d double precision NOT NULL,
        volatility double precision NOT NULL,
        trend double precision NOT NULL,
        seasonality_index double precision NOT NULL,
        days_of_history bigint NOT NULL,
        lead_time_days double precision NOT NULL,
        expected_demand_lead_time double precision NOT NULL,
        stockout_risk double precision,
        risk_level text NOT NULL,
        days_of_cover double precision,
        safety_stock double precision NOT NULL,
        reorder_point double precision NOT NULL,
        reorder_quantity double precision,
        computed_at timestamptz NOT NULL,
        PRIMARY KEY (sku, warehouse_id)
      );
      CREATE INDEX processed_metrics_risk ON analytics.processed_metrics (stockout_risk DESC NULLS LAST);

      -- SPEC §3: the daily history, one row per (item, day).
      CREATE TABLE analytics.daily_inventory (
        sku text NOT NULL,
        warehouse_id text NOT NULL,
        date date NOT NULL,
        sold double precision NOT NULL,
        returned double precision NOT NULL,
        received double precision NOT NULL,
        adjusted double precision NOT NULL,
        closing_on_hand double precision,
        stockout boolean NOT NULL,
        PRIMARY KEY (sku, warehouse_id, date)
      );

      -- What consume needs to resume: each item's state, committed with the offsets that produced it.
      CREATE TABLE analytics.item_state (
        group_id text NOT NULL,
        sku text NOT NULL,
        warehouse_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        state jsonb NOT NULL,
        PRIMARY KEY (group_id, sku, warehouse_id)
      );
      CREATE INDEX item_state_partition ON analytics.item_state (group_id, topic, partition);

      CREATE TABLE analytics.consumer_offsets (
        group_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic, partition)
      );

      -- Outboxes: written in the batch's transaction, drained to Parquet files and the alert topic.
      -- A drain first claims rows for a named file, then writes the file, then deletes the rows:
      -- after a crash the claim says which rows belong in which file, so each row lands in one file.
      CREATE TABLE analytics.metrics_outbox (
        id bigserial PRIMARY KEY,
        row jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        file text,
        claimed_at timestamptz
      );
      CREATE INDEX metrics_outbox_file ON analytics.metrics_outbox (file) WHERE file IS NOT NULL;

      CREATE TABLE analytics.alert_outbox (
        alert_id text PRIMARY KEY,
        item_key text NOT NULL,
        value text NOT NULL, -- the message as sent, byte for byte
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 2,
    name: 'daily closes for backtest',
    sql: `
      -- Each item's state at the close of its day: as it stood when the item's stream moved past
      -- the date (the latest date's row: as it stands now). What backtest needs to rebuild the
      -- predictions made at each close; history consumed before this version has no closes.
      CREATE TABLE analytics.daily_close (
        sku text NOT NULL,
        warehouse_id text NOT NULL,
        date date NOT NULL,
        on_hand double precision,
        first_date date NOT NULL,
        lead_time_days double precision, -- from the item's events; null: the configured default
        sales_dates date[] NOT NULL, -- the days of date − 29 … date with sales, ascending
        sales_units double precision[] NOT NULL,
        PRIMARY KEY (sku, warehouse_id, date)
      );

      -- The current close of every item consume already holds, from its saved state (the JSON of
      -- version 1's ItemSnapshot: day numbers, sales as flat [day, units, ...] pairs), so that each
      -- item's history is complete from the day it stands at now, even without another event.
      INSERT INTO analytics.daily_close
      SELECT DISTINCT ON (sku, warehouse_id) sku, warehouse_id,
        date '1970-01-01' + floor((state->>'latestTs')::float8 / 86400000)::int,
        (state->>'onHand')::float8,
        date '1970-01-01' + (state->>'firstDay')::int,
        (state->>'leadTimeOverride')::float8,
        ARRAY(SELECT date '1970-01-01' + e.value::int
              FROM jsonb_array_elements_text(sales) WITH ORDINALITY AS e(value, i) WHERE i % 2 = 1 ORDER BY i),
        ARRAY(SELECT e.value::float8
              FROM jsonb_array_elements_text(sales) WITH ORDINALITY AS e(value, i) WHERE i % 2 = 0 ORDER BY i)
      FROM (
        SELECT sku, warehouse_id, state,
          coalesce(nullif(state->'sales', 'null'::jsonb), '[]'::jsonb) AS sales
        FROM analytics.item_state
      ) AS s
      ORDER BY sku, warehouse_id, (state->>'latestTs')::float8 DESC;
    `,
  },
  {
    version: 3,
    name: 'risk version 2: open orders, expected stockout date, alert episodes',
    sql: `
      -- SPEC §7's new columns. Rows stored before were computed when no purchase order could be
      -- accepted: nothing was on order, so the inventory position was the on-hand; the expected
      -- stockout date was not computed (null) until the item's next row replaces them.
      ALTER TABLE analytics.processed_metrics
        ADD COLUMN on_order double precision NOT NULL DEFAULT 0,
        ADD COLUMN inventory_position double precision,
        ADD COLUMN expected_stockout_date date;
      UPDATE analytics.processed_metrics SET inventory_position = on_hand WHERE on_hand IS NOT NULL;

      -- Rows waiting in the Parquet outbox get the same values, so a file drained after the upgrade
      -- has every column of the new schema.
      UPDATE analytics.metrics_outbox
      SET row = jsonb_build_object('on_order', 0, 'inventory_position', row->'on_hand', 'expected_stockout_date', null) || row
      WHERE NOT row ? 'on_order';

      -- What the risk model reads beyond the metrics (out-of-stock days, orders, delivery record,
      -- unplanned receipts), as JSON (src/core/close.ts). Null in closes stored before this version:
      -- the items had no orders, and backtest reads null as "none recorded".
      ALTER TABLE analytics.daily_close ADD COLUMN model jsonb;
      -- The current close of each item from its saved state, when that state already holds the model
      -- (the close's copy of it, as migration 2 took the rest).
      UPDATE analytics.daily_close AS c
      SET model = jsonb_build_object(
        'outDays', coalesce(nullif(s.state->'outDays', 'null'::jsonb), '[]'::jsonb),
        'orders', coalesce(nullif(s.state->'orders', 'null'::jsonb), '[]'::jsonb),
        'deliveries', coalesce(nullif(s.state->'deliveries', 'null'::jsonb), '[]'::jsonb),
        'unplanned', coalesce(nullif(s.state->'unplanned', 'null'::jsonb), '[]'::jsonb))
      FROM (
        SELECT DISTINCT ON (sku, warehouse_id) sku, warehouse_id, state
        FROM analytics.item_state
        ORDER BY sku, warehouse_id, (state->>'latestTs')::float8 DESC
      ) AS s
      WHERE c.model IS NULL AND s.state ? 'orders'
        AND c.sku = s.sku AND c.warehouse_id = s.warehouse_id
        AND c.date = date '1970-01-01' + floor((s.state->>'latestTs')::float8 / 86400000)::int;

      -- Alerts are episodes now: several messages share an alert_id, and message_id names each one.
      -- Each outbox row is one message to send; its own id orders the sending (an episode's messages
      -- in the order they were raised) and says which row a confirmed send deletes. message_id is
      -- stored but not made a key (the engine keeps message ids unique: a second episode opened on
      -- the day of the first continues its numbering; a unique index could follow). Messages stored before
      -- (one per alert_id) take their alert_id as message_id, and are still sent.
      ALTER TABLE analytics.alert_outbox DROP CONSTRAINT alert_outbox_pkey;
      ALTER TABLE analytics.alert_outbox ADD COLUMN message_id text;
      UPDATE analytics.alert_outbox SET message_id = alert_id;
      ALTER TABLE analytics.alert_outbox ALTER COLUMN message_id SET NOT NULL;
      ALTER TABLE analytics.alert_outbox ADD COLUMN id bigint;
      UPDATE analytics.alert_outbox AS o SET id = r.n
      FROM (SELECT alert_id, row_number() OVER (ORDER BY created_at, alert_id) AS n FROM analytics.alert_outbox) AS r
      WHERE o.alert_id = r.alert_id;
      ALTER TABLE analytics.alert_outbox ALTER COLUMN id SET NOT NULL;
      ALTER TABLE analytics.alert_outbox ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
      SELECT setval(pg_get_serial_sequence('analytics.alert_outbox', 'id'), coalesce(max(id), 0) + 1, false)
      FROM analytics.alert_outbox;
      ALTER TABLE analytics.alert_outbox ADD PRIMARY KEY (id);
    `,
  },
  {
    version: 4,
    name: 'Parquet outbox: the rows of a commit packed into one value',
    sql: `
      -- consume stores all the rows a commit emitted for the Parquet archive as one packed value
      -- (src/sinks/metrics-pack.ts) instead of one JSON row each: PostgreSQL writes, claims and
      -- deletes one outbox row per commit. Rows stored before stay as they are (one row, row_count
      -- 1) and are drained the same way. The packed value is not compressed: it is deleted within
      -- seconds, and compressing it cost more CPU than the bytes it saved.
      ALTER TABLE analytics.metrics_outbox ALTER COLUMN row DROP NOT NULL;
      ALTER TABLE analytics.metrics_outbox
        ADD COLUMN packed bytea,
        ADD COLUMN row_count integer NOT NULL DEFAULT 1;
      ALTER TABLE analytics.metrics_outbox ALTER COLUMN packed SET STORAGE EXTERNAL;
      ALTER TABLE analytics.metrics_outbox
        ADD CONSTRAINT metrics_outbox_one_form CHECK ((row IS NULL) <> (packed IS NULL));
    `,
  },
  {
    version: 5,
    name: 'alert outbox kept as the alert log',
    sql: `
      -- A message the alert topic has confirmed is marked sent instead of deleted, so that an
      -- item's alert story can be told from PostgreSQL (invpipe item); consume deletes messages
      -- sent more than ALERT_LOG_DAYS ago when it starts. Rows already here are all unsent.
      ALTER TABLE analytics.alert_outbox ADD COLUMN sent_at timestamptz;
      CREATE INDEX alert_outbox_unsent ON analytics.alert_outbox (id) WHERE sent_at IS NULL;
      CREATE INDEX alert_outbox_item ON analytics.alert_outbox (item_key, id);
    `,
  },
  {
    version: 6,
    name: 'item states and day-close models stored as json',
    sql: `
      -- Every commit rewrites the state of each item it changed and adds each day close it
      -- settled, and turning their JSON into jsonb took PostgreSQL about as long as the rest of
      -- those writes: json keeps the text as sent (checked, not taken apart), and nothing reads
      -- inside these values (consume and backtest read them whole). Each value stays the same JSON.
      -- A state is replaced at nearly every commit: room left on each page lets the new version go
      -- beside the old one without a new index entry (a HOT update).
      ALTER TABLE analytics.item_state SET (fillfactor = 70);
      ALTER TABLE analytics.item_state ALTER COLUMN state TYPE json USING state::json;
      ALTER TABLE analytics.daily_close ALTER COLUMN model TYPE json USING model::json;
    `,
  },
  {
    version: 7,
    name: 'day-close sales as one json array',
    sql: `
      -- A close's sales (the days of its 30-day window with sales) as one JSON array of pairs,
      -- flat as the item's state holds them: [day number, units, day number, units, ...]. Taking
      -- the two arrays apart date by date and number by number at every commit cost PostgreSQL
      -- 16-17 us of CPU a close, 13-15 us as JSON; the readers take the sales whole. Each close
      -- keeps its sales, in order, every unit exactly (the shortest text that reads back the same
      -- double, whatever the role's own extra_float_digits).
      SET LOCAL extra_float_digits = 1;
      ALTER TABLE analytics.daily_close ADD COLUMN sales json;
      UPDATE analytics.daily_close SET sales = (
        SELECT coalesce(json_agg(p.v ORDER BY s.i, p.k), '[]'::json)
        FROM unnest(sales_dates, sales_units) WITH ORDINALITY AS s(d, u, i),
          LATERAL (VALUES (0, to_json(s.d - date '1970-01-01')), (1, to_json(s.u))) AS p(k, v));
      ALTER TABLE analytics.daily_close ALTER COLUMN sales SET NOT NULL;
      ALTER TABLE analytics.daily_close DROP COLUMN sales_dates, DROP COLUMN sales_units;
    `,
  },
  {
    version: 8,
    name: 'day closes kept in the daily history',
    sql: `
      -- An item's close of a day goes into that day's row of the daily history instead of a table
      -- of its own with the same key: each commit writes one row per (item, day) where it wrote
      -- two (the closes' table took a third of PostgreSQL's CPU per event in consume; merged, that
      -- CPU fell by about a sixth).
      -- A row holds a close when sales is not null (a close's sales are an array, maybe empty);
      -- close_on_hand is the on-hand at the close, which late events of earlier days can leave
      -- apart from closing_on_hand (the on-hand after the day's last event, SPEC §3).
      ALTER TABLE analytics.daily_inventory
        ADD COLUMN close_on_hand double precision,
        ADD COLUMN first_date date,
        ADD COLUMN lead_time_days double precision,
        ADD COLUMN sales json,
        ADD COLUMN model json;
      UPDATE analytics.daily_inventory AS d
      SET close_on_hand = c.on_hand, first_date = c.first_date, lead_time_days = c.lead_time_days,
        sales = c.sales, model = c.model
      FROM analytics.daily_close AS c
      WHERE d.sku = c.sku AND d.warehouse_id = c.warehouse_id AND d.date = c.date;
      -- A close whose day has no daily row (no release wrote one): the close is kept, since backtest
      -- reads it, in a row that says nothing happened that day, on-hand as at the close.
      INSERT INTO analytics.daily_inventory
        (sku, warehouse_id, date, sold, returned, received, adjusted, closing_on_hand, stockout,
         close_on_hand, first_date, lead_time_days, sales, model)
      SELECT c.sku, c.warehouse_id, c.date, 0, 0, 0, 0, c.on_hand, coalesce(c.on_hand <= 0, false),
        c.on_hand, c.first_date, c.lead_time_days, c.sales, c.model
      FROM analytics.daily_close AS c
      ON CONFLICT (sku, warehouse_id, date) DO NOTHING;
      DROP TABLE analytics.daily_close;
    `,
  },
  {
    version: 9,
    name: 'day closes hold the returns the risk reads',
    // Units returned come back to the books, and the risk reads them (src/core/demand.ts).
    sql: currentCloseTakesFromState('returns', 'returns'),
  },
  // The risk read this record for one release (2026-12-05) and no longer does: six simulators held out
  // from its choice scored better without it (README). Kept as applied history; the key it adds to a
  // close is ignored by every reader since.
  {
    version: 10,
    name: 'day closes hold the calibration record the risk reads',
    // Each item's risk was calibrated by its own record: a close holds the record's two sums.
    sql: currentCloseTakesFromState(
      'calibration',
      'calibration',
      "jsonb_build_array(s.state->'calibration'->0, s.state->'calibration'->1)",
    ),
  },
  {
    version: 11,
    name: 'day closes hold the restock days with the units sold before each',
    // The risk reads when in its day a receipt comes (src/core/receipts.ts receiptShare): the noted
    // restock days as triples (day, finding, units sold before it); older closes read their pairs
    // with the units unknown (no share).
    sql: currentCloseTakesFromState('restockDays', 'restockDays'),
  },
]

/**
 * A close holds a new key of the risk's model from the migration on: each item's current close,
 * stored before, takes it from the item's saved state (where a state saved it as an array), so that
 * backtest from PostgreSQL still gives what backtest from the event files gives; older closes read
 * none. `value` is the SQL of what is stored, from the state row `s` (by default its key as it is).
 */
function currentCloseTakesFromState(
  closeKey: string,
  stateKey: string,
  value = `s.state->'${stateKey}'`,
): string {
  return `
      UPDATE analytics.daily_inventory AS d
      SET model = (d.model::jsonb || jsonb_build_object('${closeKey}', ${value}))::json
      FROM (
        SELECT DISTINCT ON (sku, warehouse_id) sku, warehouse_id, state
        FROM analytics.item_state
        ORDER BY sku, warehouse_id, (state->>'latestTs')::float8 DESC
      ) AS s
      WHERE d.model IS NOT NULL AND json_typeof(s.state->'${stateKey}') = 'array'
        AND d.sku = s.sku AND d.warehouse_id = s.warehouse_id
        AND d.date = date '1970-01-01' + floor((s.state->>'latestTs')::float8 / 86400000)::int;
    `
}

/**
 * Applies the migrations not yet applied, in one transaction, and returns their versions. Instances
 * starting together queue on an advisory lock, taken before anything else: even CREATE TABLE IF NOT
 * EXISTS fails when two sessions run it at the same moment.
 */
export async function migrate(sql: Sql, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return sql.begin(async (tx) => {
    // A migration may rewrite a large table, and another instance's may hold the lock meanwhile:
    // no statement or lock timeout of the session (connectPostgres) applies here.
    await tx`SET LOCAL statement_timeout = 0`
    await tx`SET LOCAL lock_timeout = 0`
    await tx`SELECT pg_advisory_xact_lock(hashtext('invpipe_schema_migrations'))`
    await tx`CREATE TABLE IF NOT EXISTS public.invpipe_schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`
    const done = new Set(
      (await tx<{ version: number }[]>`SELECT version FROM public.invpipe_schema_migrations`).map(
        (r) => r.version,
      ),
    )
    const applied: number[] = []
    for (const migration of migrations) {
      if (done.has(migration.version)) continue
      await tx.unsafe(migration.sql)
      await tx`INSERT INTO public.invpipe_schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`
      applied.push(migration.version)
    }
    return applied
  })
}

/**
 * For the commands that read the stored history: the schema must be at `version` or later, else a
 * one-line error (`where`: the database as the messages name it; `reader`: the command).
 */
export async function requireSchema(
  tx: TransactionSql,
  where: string,
  reader: string,
  version: number,
): Promise<void> {
  const advice = '(run `invpipe migrate` and `invpipe consume` first), or name event files'
  const [row] = await tx<{ version: number | null }[]>`
    SELECT max(version) AS version FROM public.invpipe_schema_migrations`.catch((error: unknown) => {
    if (errorCode(error) === '42P01')
      throw new UsageError(`no history in ${where}: the database is not migrated ${advice}`)
    throw error
  })
  const found = row?.version ?? 0
  if (found < version)
    throw new UsageError(
      `no history in ${where}: its schema is at version ${found}, ${reader} reads version ${version} ${advice}`,
    )
}
