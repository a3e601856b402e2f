// SPEC §7's processed-metrics columns written out from the spec, not taken from the code's own
// column table: the outputs (Parquet schema, PostgreSQL table, --csv header) must list exactly these.

/** SPEC §7's columns, in its order. */
export const SPEC_COLUMNS = [
  'sku',
  'warehouse_id',
  'as_of_date',
  'last_event_at',
  'event_count',
  'on_hand',
  'velocity_7d',
  'velocity_30d',
  'volatility',
  'trend',
  'seasonality_index',
  'days_of_history',
  'lead_time_days',
  'expected_demand_lead_time',
  'stockout_risk',
  'risk_level',
  'days_of_cover',
  'safety_stock',
  'reorder_point',
  'reorder_quantity',
  'on_order',
  'inventory_position',
  'expected_stockout_date',
  'computed_at',
]
