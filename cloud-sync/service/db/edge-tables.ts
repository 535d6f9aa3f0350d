/**
 * Kysely table types of the HTTP edge's shared state (migration 0008, issue 12 findings 5 and 6):
 * rate-limit counters and login lockouts live in the database, so that every instance on one
 * database (docs/uplink-contract.md, "Scale") counts the same attempts. Times are epoch
 * milliseconds in `bigint` columns (read as numbers, db/open.ts): a window is arithmetic on them.
 */

/** One fixed window of one limit for one key (api/rate-limits.ts). */
export interface RateLimitCountersTable {
  /** `{limit name}:{client address}`, e.g. `login:203.0.113.7`. */
  key: string;
  /** Start of the window, epoch ms (a multiple of the window's length). */
  window_start: number;
  /** Requests counted in the window so far. */
  count: number;
  /** When the row is of no use any more (window end), epoch ms; purged after it. */
  expires_at: number;
}

/** Failed sign-ins of one username, whoever sent them (auth/login-limits.ts). */
export interface LoginLockoutsTable {
  /** As typed at sign-in (also for names that are no account: the answer must not differ). */
  username: string;
  /** Failures since the last success (or since the count was forgotten). */
  failures: number;
  /** Epoch ms of the last failure. */
  last_failure_at: number;
  /** Epoch ms until which every sign-in of this username is refused; 0 when not locked. */
  locked_until: number;
}

export interface EdgeTables {
  rate_limit_counters: RateLimitCountersTable;
  login_lockouts: LoginLockoutsTable;
}

/*
 * Migration 0008 adds `count` to admin_audit: a summary row of anonymous refusals says how many it
 * stands for (enrollment/audit.ts recordAnonymousRefusal). Declared here, next to the migration
 * that adds it, by merging into the table's interface (TypeScript module augmentation).
 */
declare module './enrollment-tables.js' {
  interface AdminAuditTable {
    /** Refusals a summary row stands for; null for an ordinary row (one event). */
    count: number | null;
  }
}
