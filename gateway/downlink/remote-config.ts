/**
 * Configuration documents from the cloud (`down/config`, retained; docs/uplink-contract.md,
 * delivery rule 7; docs/config-downlink.md) and the technician's local overrides, which share one
 * path:
 *
 *   candidate (file <- document <- overrides) ──validate in full──> build ──swap synchronously──>
 *   version / override rows + config_result / config_override events in ONE transaction
 *
 * - Signed: a document without a valid signature of the cloud for this gateway (signature.ts,
 *   docs/downlink-signing.md) is answered 'rejected' with a `code` and recorded nowhere, so a forged
 *   copy cannot take the version number of the genuine document.
 * - A retained document comes back on every reconnect: a version already recorded with the same
 *   hash is ignored. A wrong hash, a version number reused for another document or lower than
 *   the active one is rejected.
 * - Invalid (schema, semantic checks, unknown device or rule ...) -> rejected with pointers in the
 *   document's shape; nothing changes. A module refusing the swap -> every module restored,
 *   'rolled_back'.
 * - The previous applied version is kept (config_versions) for rollback; a cloud rollback is a new
 *   version carrying the old document.
 * - restore() at start re-applies the active version and the overrides over the file; if that
 *   no longer validates the gateway runs on what still does, says so in the log and reports it
 *   upstream (rolled_back result, clear events), never silently.
 */
import type { Logger } from 'pino';
import { configDocumentHash, type RemoteConfig } from '../../cloud-sync/contract/config-document.js';
import type { ConfigResultEvent, GatewayEventBody } from '../../cloud-sync/contract/events.js';
import type { ConfigDocument } from '../../cloud-sync/contract/types.js';
import { forbiddenKeyIssues } from '../../cloud-sync/contract/forbidden-keys.js';
import { parseConfigDocument } from '../../cloud-sync/contract/validate.js';
import type { EngineOutput, Instant } from '../alarms/types.js';
import { filePathOf, overlaid, overlayChanges, restartNeeded, validateOverlaid } from '../config/overlay.js';
import type { GatewayConfig } from '../config/types.js';
import type { LoadedProfile } from '../profiles/types.js';
import type { DownlinkWrite, LocalOverrideRow } from '../store/downlink-rows.js';
import type { Committer, StoreReader } from '../store/committer.js';
import type { DownlinkVerifier } from './signature.js';
import { DownlinkError, isDownlinkError } from './errors.js';
import {
  FILE_CHANGE_BY,
  FILE_CHANGE_REASON,
  documentValueAt,
  overrideEvent,
  pointerValues,
  withOverride,
} from './overrides.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

/** The configuration file as read: the base every overlay is laid on. */
export interface ConfigSource {
  document: unknown;
  /** Folder a relative dataDir is resolved against (the file's folder). */
  baseDir: string;
}

/** What the config downlink needs of the gateway (Gateway implements it). */
export interface ConfigHost {
  store: Pick<StoreReader, 'now' | 'configVersion' | 'activeConfigVersion' | 'localOverrides'>;
  /** The gateway's one commit path (store/committer.ts): commits, then wakes the uplink. */
  committer: Committer;
  profiles: ReadonlyMap<string, LoadedProfile>;
  /**
   * Builds the modules' new configuration and swaps it in synchronously. Throws DownlinkError
   * DOWNLINK_INVALID (the running gateway cannot take it: issues say why; nothing changed) or
   * DOWNLINK_SWAP_FAILED (a module refused; everything was restored). Returns the alarm
   * transitions of the swap and the undo of the whole swap.
   */
  swap(config: GatewayConfig, now: Instant): { output: EngineOutput; undo: () => void };
  /** configVersion moved: refresh up/status. */
  statusChanged(): void;
  /** Checks the cloud's signature first (signature.ts); a refused document goes no further. */
  verifier: DownlinkVerifier;
  logger: Logger;
}

interface ActiveDocument {
  version: number;
  hash: string;
  document: RemoteConfig;
}

type Outcome = { ok: true } | { ok: false; rolledBack: boolean; issues: Issue[] };

export interface ReloadSummary {
  /** Pointers turned into local overrides. */
  overrides: string[];
  /** Top-level settings that changed outside the overlay areas (need a restart). */
  restartNeeded: string[];
  /** Why the changes were not applied (empty when they were). */
  issues: Issue[];
}

const MAX_RESULT_ERRORS = 100;

export class ConfigDownlink {
  private active: ActiveDocument | null = null;
  private overrides: LocalOverrideRow[] = [];
  /** The file's document running now (non-overlay areas need a restart to change). */
  private readonly base: ConfigSource;
  /** The last read of the file, what a SIGHUP re-read is compared with. */
  private lastRead: unknown;
  private readonly counts = { applied: 0, rejected: 0, rolled_back: 0, ignored: 0, unreadable: 0 };

  constructor(
    private readonly host: ConfigHost,
    source: ConfigSource,
  ) {
    this.base = source;
    this.lastRead = source.document;
  }

  activeVersion(): number | null {
    return this.active?.version ?? null;
  }

  /** The cloud's document in force and its version (the cabinet UI names where a setting came from). */
  activeDocument(): { version: number; document: RemoteConfig } | null {
    return this.active === null ? null : { version: this.active.version, document: this.active.document };
  }

  /** The configuration file's document as last read (the base of every overlay). */
  fileDocument(): unknown {
    return this.base.document;
  }

  localOverrides(): LocalOverrideRow[] {
    return this.overrides.map((o) => ({ ...o }));
  }

  stats(): Record<string, number> {
    return { ...this.counts };
  }

  /**
   * At start: the recorded active version and overrides over the file. What no longer validates
   * is dropped loudly: an error log, a rolled_back config_result for the version, a 'clear'
   * config_override for each override that had to go.
   */
  restore(): void {
    const { store, logger } = this.host;
    const version = store.activeConfigVersion();
    const row = version === null ? undefined : store.configVersion(version);
    const active: ActiveDocument | null =
      row === undefined
        ? null
        : { version: row.version, hash: row.hash, document: JSON.parse(row.document) as RemoteConfig };
    const overrides = store.localOverrides();
    if (active === null && overrides.length === 0) return;
    const now = store.now();
    const first = this.transition(active, overrides, now, { events: [], downlink: [] });
    if (first.ok) {
      logger.info(
        { configVersion: active?.version ?? null, overrides: overrides.map((o) => o.pointer) },
        'configuration document and local overrides re-applied over the file',
      );
      return;
    }
    const events: GatewayEventBody[] = [];
    const downlink: DownlinkWrite[] = [];
    if (active !== null) {
      logger.error(
        { configVersion: active.version, issues: first.issues },
        'the active configuration document no longer validates against the configuration file; running without it',
      );
      events.push(this.result(active.version, active.hash, 'rolled_back', null, first.issues));
      downlink.push(
        {
          kind: 'config_version_status',
          version: active.version,
          status: 'rolled_back',
          detail: JSON.stringify(first.issues),
        },
        { kind: 'active_config', version: null },
      );
    }
    const second = this.transition(null, overrides, now, { events, downlink });
    if (second.ok) return;
    logger.error(
      { overrides: overrides.map((o) => o.pointer), issues: second.issues },
      'the local overrides no longer validate against the configuration file; they were cleared',
    );
    const reason = `no longer valid against the configuration file: ${summary(second.issues)}`;
    for (const o of overrides) {
      events.push(overrideEvent('clear', o.pointer, null, o.previous, 'gateway', reason.slice(0, 2000)));
      downlink.push({ kind: 'override_clear', pointer: o.pointer });
    }
    const last = this.transition(null, [], now, { events, downlink });
    if (!last.ok)
      logger.error({ issues: last.issues }, 'the configuration file alone could not be re-applied');
  }

  /** One `down/config` payload. Never throws. */
  handle(payload: Buffer | string): void {
    try {
      this.process(payload);
    } catch (error) {
      this.host.logger.error({ err: error }, 'configuration document handling failed');
    }
  }

  /** Gateway.setLocalOverride. Throws DownlinkError (DOWNLINK_BAD_POINTER, DOWNLINK_INVALID, ...). */
  setLocalOverride(pointer: string, value: unknown, by: string, reason: string | null): void {
    if (by.trim() === '') throw new DownlinkError('DOWNLINK_INVALID', 'a local override needs who (by)');
    const { merged } = overlaid(this.base.document, this.active?.document ?? null, []);
    const path = filePathOf(merged, pointer);
    if (!Array.isArray(path))
      throw new DownlinkError('DOWNLINK_BAD_POINTER', `${pointer}: ${path.message}`, { issues: [path] });
    const previous = documentValueAt(this.base.document, this.active?.document ?? null, pointer);
    const now = this.host.store.now();
    const row: LocalOverrideRow = {
      pointer,
      value,
      previous,
      by,
      reason,
      setMonoMs: now.monoMs,
      setWallMs: now.wallMs,
    };
    const outcome = this.transition(this.active, withOverride(this.overrides, row), now, {
      events: [overrideEvent('set', pointer, value, previous, by, reason)],
      downlink: [{ kind: 'override_set', row }],
    });
    this.throwUnless(outcome, `local override ${pointer}`);
  }

  /** Gateway.clearLocalOverride. Throws DownlinkError DOWNLINK_NO_OVERRIDE, DOWNLINK_INVALID ... */
  clearLocalOverride(pointer: string, by: string, reason: string | null): void {
    const existing = this.overrides.find((o) => o.pointer === pointer);
    if (existing === undefined)
      throw new DownlinkError('DOWNLINK_NO_OVERRIDE', `no local override at ${pointer}`);
    const previous = documentValueAt(this.base.document, this.active?.document ?? null, pointer);
    const now = this.host.store.now();
    const outcome = this.transition(
      this.active,
      this.overrides.filter((o) => o.pointer !== pointer),
      now,
      {
        events: [overrideEvent('clear', pointer, null, previous, by, reason)],
        downlink: [{ kind: 'override_clear', pointer }],
      },
    );
    this.throwUnless(outcome, `clearing ${pointer}`);
  }

  /**
   * SIGHUP: the configuration file was read again. Changed settings in the overlay areas become
   * local overrides (by 'local-file'); other changes are returned (and logged) as needing a restart.
   */
  reloadFile(document: unknown): ReloadSummary {
    const { logger } = this.host;
    // Before the comparison: its pointers are built from the file's keys (docs/security.md).
    const forbidden = forbiddenKeyIssues(document);
    if (forbidden.length > 0) {
      logger.error(
        { issues: forbidden },
        'the changed configuration file has forbidden keys; nothing changed',
      );
      return { overrides: [], restartNeeded: [], issues: forbidden };
    }
    const changes = overlayChanges(this.lastRead, document);
    const restart = restartNeeded(this.lastRead, document);
    if (restart.length > 0)
      logger.warn({ settings: restart }, 'configuration file changes that need a restart were not applied');
    if (changes.length === 0) {
      this.lastRead = document;
      return { overrides: [], restartNeeded: restart, issues: [] };
    }
    const now = this.host.store.now();
    let rows = this.overrides;
    const events: GatewayEventBody[] = [];
    const downlink: DownlinkWrite[] = [];
    for (const { pointer, value } of changes) {
      const previous = documentValueAt(this.base.document, this.active?.document ?? null, pointer);
      const row: LocalOverrideRow = {
        pointer,
        value,
        previous,
        by: FILE_CHANGE_BY,
        reason: FILE_CHANGE_REASON,
        setMonoMs: now.monoMs,
        setWallMs: now.wallMs,
      };
      rows = withOverride(rows, row);
      events.push(overrideEvent('set', pointer, value, previous, FILE_CHANGE_BY, FILE_CHANGE_REASON));
      downlink.push({ kind: 'override_set', row });
    }
    const outcome = this.transition(this.active, rows, now, { events, downlink });
    if (!outcome.ok) {
      logger.error(
        { issues: outcome.issues },
        'the changed configuration file does not validate; nothing changed',
      );
      return { overrides: [], restartNeeded: restart, issues: outcome.issues };
    }
    this.lastRead = document;
    logger.info(
      { overrides: changes.map((c) => c.pointer) },
      'configuration file changes applied as local overrides',
    );
    return { overrides: changes.map((c) => c.pointer), restartNeeded: restart, issues: [] };
  }

  private process(payload: Buffer | string): void {
    const { store, logger } = this.host;
    const verdict = this.host.verifier.check('down/config', payload);
    if (!verdict.ok) {
      const readable = readableVersion(payload);
      if (readable === null || !verdict.report) {
        if (readable === null) this.counts.unreadable++;
        return;
      }
      // Answered, recorded nowhere: the version stays free for the genuine document.
      this.counts.rejected++;
      this.host.committer.commit({
        events: [
          {
            ...this.result(readable.version, readable.hash, 'rejected', this.activeVersion(), [
              { pointer: '/sig', message: `${verdict.code}: ${verdict.reason}` },
            ]),
            code: verdict.code,
          },
        ],
        at: store.now(),
      });
      return;
    }
    const parsed = parseConfigDocument(payload);
    if (!parsed.ok) {
      const readable = readableVersion(payload);
      if (readable === null) {
        this.counts.unreadable++;
        logger.warn({ errors: parsed.errors }, 'ignored a down/config without a readable version and hash');
        return;
      }
      const issues = parsed.errors.map((e) => ({
        pointer: e.pointer.replace(/^\/document/, ''),
        message: e.message,
      }));
      if (store.configVersion(readable.version)?.hash === readable.hash) return this.ignore(readable.version);
      return this.reject(
        readable.version,
        readable.hash,
        null,
        issues,
        store.configVersion(readable.version) === undefined,
      );
    }
    const doc: ConfigDocument = parsed.value;
    const recorded = store.configVersion(doc.version);
    if (recorded !== undefined && recorded.hash === doc.hash) return this.ignore(doc.version);
    if (configDocumentHash(doc.document) !== doc.hash) {
      return this.reject(
        doc.version,
        doc.hash,
        doc.document,
        [
          {
            pointer: '',
            message: `hash ${doc.hash} is not the SHA-256 of the document (${configDocumentHash(doc.document)})`,
          },
        ],
        recorded === undefined,
      );
    }
    if (recorded !== undefined) {
      return this.reject(
        doc.version,
        doc.hash,
        doc.document,
        [
          {
            pointer: '',
            message: `version ${doc.version} was already used for another document (hash ${recorded.hash})`,
          },
        ],
        false,
      );
    }
    if (this.active !== null && doc.version < this.active.version) {
      return this.reject(
        doc.version,
        doc.hash,
        doc.document,
        [
          {
            pointer: '',
            message: `version ${doc.version} is lower than the active version ${this.active.version}`,
          },
        ],
        true,
      );
    }
    const now = store.now();
    const next: ActiveDocument = { version: doc.version, hash: doc.hash, document: doc.document };
    const clearing = doc.document.clearLocalOverrides === true ? this.overrides : [];
    const events: GatewayEventBody[] = [this.result(doc.version, doc.hash, 'applied', doc.version, [])];
    const downlink: DownlinkWrite[] = [
      {
        kind: 'config_version',
        row: {
          version: doc.version,
          hash: doc.hash,
          document: JSON.stringify(doc.document),
          status: 'applied',
          detail: null,
          receivedMonoMs: now.monoMs,
          receivedWallMs: now.wallMs,
          appliedMonoMs: now.monoMs,
          appliedWallMs: now.wallMs,
          previousVersion: this.active?.version ?? null,
        },
      },
      { kind: 'active_config', version: doc.version },
    ];
    for (const o of clearing) {
      const previous = documentValueAt(this.base.document, doc.document, o.pointer);
      events.push(
        overrideEvent(
          'clear',
          o.pointer,
          null,
          previous,
          'cloud',
          `cleared by configuration document version ${doc.version}`,
        ),
      );
      downlink.push({ kind: 'override_clear', pointer: o.pointer });
    }
    const remaining = clearing.length > 0 ? [] : this.overrides;
    const outcome = this.transition(next, remaining, now, { events, downlink });
    if (outcome.ok) {
      this.counts.applied++;
      logger.info(
        { configVersion: doc.version, cleared: clearing.map((o) => o.pointer) },
        'configuration document applied',
      );
      this.host.statusChanged();
      return;
    }
    if (outcome.rolledBack) {
      this.counts.rolled_back++;
      this.host.committer.commit({
        events: [this.result(doc.version, doc.hash, 'rolled_back', this.activeVersion(), outcome.issues)],
        downlink: [
          {
            kind: 'config_version',
            row: { ...rowOf(doc, now, 'rolled_back', outcome.issues), previousVersion: this.activeVersion() },
          },
        ],
        at: now,
      });
      logger.error(
        { configVersion: doc.version, issues: outcome.issues },
        'configuration document rolled back',
      );
      return;
    }
    this.reject(doc.version, doc.hash, doc.document, outcome.issues, true);
  }

  /**
   * Validates the candidate, swaps it in and commits `extra` with the swap's alarm transitions,
   * all or nothing; on success the candidate becomes the state.
   */
  private transition(
    document: ActiveDocument | null,
    overrides: LocalOverrideRow[],
    now: Instant,
    extra: { events: GatewayEventBody[]; downlink: DownlinkWrite[] },
  ): Outcome {
    const checked = validateOverlaid(
      this.base.document,
      document?.document ?? null,
      pointerValues(overrides),
      this.host.profiles,
      { baseDir: this.base.baseDir },
    );
    if (!checked.ok) return { ok: false, rolledBack: false, issues: checked.issues };
    let swapped: { output: EngineOutput; undo: () => void };
    try {
      swapped = this.host.swap(checked.config, now);
    } catch (error) {
      if (isDownlinkError(error, 'DOWNLINK_INVALID'))
        return { ok: false, rolledBack: false, issues: error.issues };
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, rolledBack: true, issues: [{ pointer: '', message }] };
    }
    try {
      this.host.committer.commit(
        {
          events: [...swapped.output.transitions, ...swapped.output.chattering, ...extra.events],
          alarmRecords: swapped.output.records,
          downlink: extra.downlink,
          at: now,
        },
        // Recorded: the candidate is the state before anyone hears of the commit.
        () => {
          this.active = document;
          this.overrides = overrides;
        },
      );
    } catch (error) {
      // Nothing recorded: the running configuration must not differ from the recorded one.
      swapped.undo();
      throw error;
    }
    return { ok: true };
  }

  private reject(
    version: number,
    hash: string,
    document: RemoteConfig | null,
    issues: Issue[],
    record: boolean,
  ): void {
    const now = this.host.store.now();
    this.counts.rejected++;
    const downlink: DownlinkWrite[] =
      record && document !== null
        ? [
            {
              kind: 'config_version',
              row: {
                ...rowOf({ version, hash, document }, now, 'rejected', issues),
                previousVersion: this.activeVersion(),
              },
            },
          ]
        : [];
    this.host.committer.commit({
      events: [this.result(version, hash, 'rejected', this.activeVersion(), issues)],
      downlink,
      at: now,
    });
    this.host.logger.warn(
      { configVersion: version, issues },
      'configuration document rejected; the previous one stays in force',
    );
  }

  private ignore(version: number): void {
    this.counts.ignored++;
    this.host.logger.debug(
      { configVersion: version },
      'configuration document already handled (retained copy)',
    );
  }

  private result(
    version: number,
    hash: string,
    status: ConfigResultEvent['status'],
    activeVersion: number | null,
    issues: Issue[],
  ): ConfigResultEvent {
    return {
      kind: 'config_result',
      version,
      hash,
      status,
      activeVersion,
      errors: issues
        .slice(0, MAX_RESULT_ERRORS)
        .map((i) => ({ pointer: i.pointer.slice(0, 2000), message: i.message.slice(0, 2000) })),
    };
  }

  private throwUnless(outcome: Outcome, what: string): void {
    if (outcome.ok) return;
    throw new DownlinkError(
      outcome.rolledBack ? 'DOWNLINK_SWAP_FAILED' : 'DOWNLINK_INVALID',
      `${what}: ${summary(outcome.issues)}`,
      { issues: outcome.issues },
    );
  }
}

function rowOf(
  doc: { version: number; hash: string; document: RemoteConfig },
  now: Instant,
  status: 'rejected' | 'rolled_back',
  issues: Issue[],
): Omit<Extract<DownlinkWrite, { kind: 'config_version' }>['row'], 'previousVersion'> {
  return {
    version: doc.version,
    hash: doc.hash,
    document: JSON.stringify(doc.document),
    status,
    detail: JSON.stringify(issues),
    receivedMonoMs: now.monoMs,
    receivedWallMs: now.wallMs,
    appliedMonoMs: null,
    appliedWallMs: null,
  };
}

function summary(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.pointer === '' ? '(document)' : i.pointer}: ${i.message}`).join('; ');
}

/** Version and hash of an invalid document, when both are readable (so it can be answered). */
function readableVersion(payload: Buffer | string): { version: number; hash: string } | null {
  try {
    const value: unknown = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    if (typeof value !== 'object' || value === null) return null;
    const { version, hash } = value as Record<string, unknown>;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) return null;
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return null;
    return { version, hash };
  } catch {
    return null;
  }
}
