/**
 * How raw telemetry is split by month, on either store: one partition per kind and UTC month, named
 * `<parent>_YYYY_MM` after the table (SQLite) or the partitioned parent (PostgreSQL) it belongs to. The
 * layout inside each is its store's own (store/sqlite/partitions.ts, store/postgres/partitions.ts).
 */

export type PartitionKind = 'events' | 'crashes';

/** The table (SQLite: the view over the partitions; PostgreSQL: the partitioned parent) of each kind. */
export const PARTITION_PARENT: Record<PartitionKind, string> = { events: 'telemetry_events', crashes: 'crash_reports' };

/** Table name of a partition: `telemetry_events_2026_11`. Only YYYY-MM is accepted, so it is safe in SQL. */
export function partitionName(kind: PartitionKind, month: string): string {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new Error(`bad partition month ${month}`);
  return `${PARTITION_PARENT[kind]}_${month.replace('-', '_')}`;
}

export interface PartitionInfo {
  name: string;
  kind: PartitionKind;
  month: string;
}
