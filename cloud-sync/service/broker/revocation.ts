/**
 * Revocation of live MQTT sessions on the embedded broker. A credential is checked at CONNECT
 * only, so without this a gateway disabled with `cloud-admin gateway disable` (another process
 * writing the database) or re-enrolled (a new credential hash) keeps its session, and its events
 * keep being ingested. Every REVOCATION_CHECK_INTERVAL_MS each broker instance reads, in one query,
 * the current credentials of the accounts it has sessions for and closes every session whose
 * account is gone, disabled, or holds another hash than the one the session authenticated with.
 * Because the database is the only thing read, this works the same with several instances on one
 * PostgreSQL and whichever process made the change; `recheck()` runs it at once for changes made
 * in this process.
 */
import { EventEmitter } from 'node:events';
import type { CredentialStore, StoredCredential } from './credentials.js';
import type { BrokerIdentity } from './acl.js';

/**
 * How often live sessions are checked against the stored credentials: revocation takes effect
 * within this (plus one query), and the cost is one indexed query per interval per instance.
 */
export const REVOCATION_CHECK_INTERVAL_MS = 2_000;

/**
 * The in-process signal: code of this process that disables, enables or rotates a credential
 * (enrollment/redeem.ts, enrollment/accounts.ts) calls notifyCredentialsChanged() after its commit,
 * and every embedded broker of the process sweeps at once instead of at its next interval.
 * Changes made by another process or instance are found by the periodic sweep.
 */
const changes = new EventEmitter();
// One listener per embedded broker; tests run several in one process.
changes.setMaxListeners(0);

export function notifyCredentialsChanged(): void {
  changes.emit('changed');
}

/** Calls `listener` on every notifyCredentialsChanged(); returns the function that stops it. */
export function onCredentialsChanged(listener: () => void): () => void {
  changes.on('changed', listener);
  return () => changes.off('changed', listener);
}

/** A store that can read many credentials in one query (enrollment/store.ts implements it). */
export interface BatchCredentialStore extends CredentialStore {
  getMany(ids: readonly string[]): Promise<Map<string, StoredCredential>>;
}

function isBatchStore(store: CredentialStore): store is BatchCredentialStore {
  return typeof (store as Partial<BatchCredentialStore>).getMany === 'function';
}

/** Current credentials of `ids` (absent ones left out): one query when the store can, else one each. */
export async function readCredentials(
  store: CredentialStore,
  ids: readonly string[],
): Promise<Map<string, StoredCredential>> {
  if (ids.length === 0) return new Map();
  if (isBatchStore(store)) return store.getMany(ids);
  const found = new Map<string, StoredCredential>();
  const rows = await Promise.all(ids.map(async (id) => [id, await store.get(id)] as const));
  for (const [id, credential] of rows) if (credential !== null) found.set(id, credential);
  return found;
}

/** Why a live session is cut. */
export type RevocationReason = 'account removed' | 'account disabled' | 'credential rotated';

/** One authenticated session: who, and the stored hash its CONNECT was checked against. */
export interface LiveSession<C> {
  client: C;
  identity: BrokerIdentity;
  hash: string;
}

/** Does `current` still allow a session that authenticated against `hash`? */
export function revocationReason(
  current: StoredCredential | undefined,
  hash: string,
): RevocationReason | null {
  if (current === undefined) return 'account removed';
  if (current.disabled) return 'account disabled';
  // A new hash is a new credential (re-enrollment rotates it): the old secret no longer counts.
  if (current.hash !== hash) return 'credential rotated';
  return null;
}

export interface RevocationSweepOptions<C> {
  gateways: CredentialStore;
  services: CredentialStore;
  /** Sessions authenticated so far and not yet closed. */
  sessions: () => LiveSession<C>[];
  revoke: (session: LiveSession<C>, reason: RevocationReason) => void;
}

/**
 * Checks the sessions live when it starts; a session authenticated while the query runs is left
 * for the next sweep, since it may have read a newer credential than this query did.
 */
export async function sweepSessions<C>(options: RevocationSweepOptions<C>): Promise<number> {
  const live = options.sessions();
  if (live.length === 0) return 0;
  const gatewayIds = new Set<string>();
  const serviceNames = new Set<string>();
  for (const { identity } of live) {
    if (identity.kind === 'gateway') gatewayIds.add(identity.gatewayId);
    else serviceNames.add(identity.name);
  }
  const [gateways, services] = await Promise.all([
    readCredentials(options.gateways, [...gatewayIds]),
    readCredentials(options.services, [...serviceNames]),
  ]);
  let revoked = 0;
  for (const session of live) {
    const { identity } = session;
    const current =
      identity.kind === 'gateway' ? gateways.get(identity.gatewayId) : services.get(identity.name);
    const reason = revocationReason(current, session.hash);
    if (reason === null) continue;
    options.revoke(session, reason);
    revoked += 1;
  }
  return revoked;
}
