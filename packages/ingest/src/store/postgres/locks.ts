/**
 * Advisory lock keys of the telemetry store on PostgreSQL, in one place so that no two uses collide. The
 * two-int form pg_advisory_xact_lock(namespace, key) keeps them apart from single-bigint keys (the
 * migration lock). A key is a 32-bit hash: two things sharing one only wait for each other, never more.
 */

/** (app, device): a row with an idempotency key is checked and inserted under it (neighbour-day retries). */
export const LOCK_NS_DEVICE = 0x4d53_0001;
/** An app: a new event type is counted against event_type_limit under it. */
export const LOCK_NS_APP_TYPES = 0x4d53_0002;
/** Creating or dropping partitions (key 0). */
export const LOCK_NS_PARTITIONS = 0x4d53_0003;
/** Scheduled jobs' leases (session locks; key: hash of the job name). */
export const LOCK_NS_JOBS = 0x4d53_0004;

/** FNV-1a over a string, as a signed 32-bit int (PostgreSQL's int4). */
export function hash32(s: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** The lock key of an (app, device) pair: the app's portal id and the device hash's two halves. */
export function deviceLockKey(appId: string, device: bigint): number {
  let h = hash32(appId);
  const lo = Number(BigInt.asUintN(32, device));
  const hi = Number(BigInt.asUintN(32, device >> 32n));
  h = Math.imul(h ^ lo, 0x01000193);
  h = Math.imul(h ^ hi, 0x01000193);
  return h | 0;
}
