/** Defaults and bounds of the ops package, in one place; config (offsite/config.ts) may override the defaults. */

const MINUTE_MS = 60_000;

/** How often the launcher copies new package files and the device-hash secret off-site (OFFSITE_SYNC_INTERVAL_S). */
export const OFFSITE_SYNC_INTERVAL_S = 60;
/** Bounds of OFFSITE_SYNC_INTERVAL_S: at least a second, at most a day (the disaster row's RPO). */
export const OFFSITE_SYNC_INTERVAL_MIN_S = 1;
export const OFFSITE_SYNC_INTERVAL_MAX_S = 86_400;
/** Port of an SFTP host given without one. */
export const SFTP_DEFAULT_PORT = 22;
/** How long sftp may take to connect before a pass counts as failed. */
export const SFTP_CONNECT_TIMEOUT_S = 15;
/** How long one sftp session (a listing, or copying what is missing) may run before it is stopped. */
export const SFTP_SESSION_TIMEOUT_MS = 60 * MINUTE_MS;
