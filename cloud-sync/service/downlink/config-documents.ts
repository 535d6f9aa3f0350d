/**
 * Configuration documents, cloud side (docs/uplink-contract.md `down/config` and rule 7;
 * contract/config-document.ts; docs/downlink.md).
 *
 * Every change is a new version per gateway (1, 2, 3 ...), stored with the SHA-256 of its
 * canonical JSON and published RETAINED on `down/config`: the broker hands the newest document to
 * the gateway on every (re)subscribe, so a cabinet that was away catches up without the cloud
 * tracking who saw what. The gateway validates, applies atomically and answers with a
 * config_result event (results-hook.ts); it keeps the previous version, and a rollback is simply a
 * new version carrying an older document (`restores_version`), so versions only ever increase.
 *
 *   pending --config_result--> applied | rejected | rolled_back
 *   pending --a newer version is proposed first--> superseded
 */
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import { canonicalJson, configDocumentHash, type RemoteConfig } from '../../contract/config-document.js';
import { MAX_PAYLOAD_BYTES } from '../../contract/schemas.js';
import { configTopic } from '../../contract/topics.js';
import type { ConfigDocument } from '../../contract/types.js';
import { validateConfigDocument } from '../../contract/validate.js';
import type { ConfigOverridesTable, ConfigVersionsTable } from '../db/case-tables.js';
import type { CloudSchema } from '../db/schema.js';
import { DownlinkError } from './errors.js';
import { requireGateway } from './gateways.js';
import type { DownlinkPublisher } from './publisher.js';
import type { DownlinkSigner } from './signing-key.js';
import type { Issue } from '../../contract/errors.js';

export const CONFIG_STATUSES = ['pending', 'applied', 'rejected', 'rolled_back', 'superseded'] as const;
export type ConfigStatus = (typeof CONFIG_STATUSES)[number];

/** Statuses whose document failed on the gateway: not offered as a rollback target. */
const FAILED_STATUSES: readonly ConfigStatus[] = ['rejected', 'rolled_back'];

export interface ConfigVersionRecord {
  gatewayId: string;
  version: number;
  hash: string;
  document: RemoteConfig;
  createdBy: string;
  createdAt: string;
  note: string | null;
  /** For a rollback: the version whose document this one restores. */
  restoresVersion: number | null;
  status: ConfigStatus;
  resultAt: string | null;
  /** The gateway's reasons for rejected / rolled_back; null otherwise. */
  errors: Issue[] | null;
}

/** A technician's local change on the cabinet, from a config_override event. */
export interface ConfigOverrideRecord {
  eventId: string;
  gatewayId: string;
  /** JSON Pointer in the document's shape, e.g. `/alarms/gas-1/h2s/levels`. */
  pointer: string;
  action: 'set' | 'clear';
  value: unknown;
  previous: unknown;
  actor: string;
  reason: string | null;
  /** Gateway wall clock (display only). */
  ts: string;
  receivedAt: string;
}

/** What runs on a gateway and what is on its way there. */
export interface CurrentConfig {
  gatewayId: string;
  /** The highest version the gateway reported applied; null before any. */
  applied: ConfigVersionRecord | null;
  /** The newest version proposed (the one retained on `down/config`); null before any. */
  latest: ConfigVersionRecord | null;
  /** Local overrides still in force on the cabinet: the last event per pointer, when it is a `set`. */
  overridesInForce: ConfigOverrideRecord[];
}

export interface ProposeConfigInput {
  gatewayId: string;
  document: RemoteConfig;
  createdBy: string;
  note?: string | null;
}

export interface RollbackConfigInput {
  gatewayId: string;
  createdBy: string;
  note: string;
  /** The version whose document to restore; default: the applied version before the current one. */
  toVersion?: number;
}

export interface ConfigDocumentServiceOptions {
  db: Kysely<CloudSchema>;
  publisher: DownlinkPublisher;
  /** Signs every published document for its gateway (docs/downlink-signing.md). */
  signer: DownlinkSigner;
  logger: Logger;
  now?: () => Date;
}

export function toConfigVersionRecord(row: Selectable<ConfigVersionsTable>): ConfigVersionRecord {
  return {
    gatewayId: row.gateway_id,
    version: Number(row.version),
    hash: row.hash,
    document: JSON.parse(row.document) as RemoteConfig,
    createdBy: row.created_by,
    createdAt: row.created_at,
    note: row.note,
    restoresVersion: row.restores_version === null ? null : Number(row.restores_version),
    status: row.status as ConfigStatus,
    resultAt: row.result_at,
    errors: row.errors === null ? null : (JSON.parse(row.errors) as Issue[]),
  };
}

export function toConfigOverrideRecord(row: Selectable<ConfigOverridesTable>): ConfigOverrideRecord {
  return {
    eventId: row.event_id,
    gatewayId: row.gateway_id,
    pointer: row.pointer,
    action: row.action as 'set' | 'clear',
    value: row.value === null ? null : (JSON.parse(row.value) as unknown),
    previous: row.previous === null ? null : (JSON.parse(row.previous) as unknown),
    actor: row.actor,
    reason: row.reason,
    ts: row.ts,
    receivedAt: row.received_at,
  };
}

/** A duplicate primary key: PostgreSQL SQLSTATE 23505, SQLite SQLITE_CONSTRAINT_PRIMARYKEY/UNIQUE. */
function isUniqueViolation(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Issues of the whole message moved into the document's shape (`/document/alarms/x` -> `/alarms/x`). */
function documentIssues(issues: readonly Issue[]): Issue[] {
  return issues.map((issue) => ({
    pointer: issue.pointer.startsWith('/document') ? issue.pointer.slice('/document'.length) : issue.pointer,
    message: issue.message,
  }));
}

export class ConfigDocumentService {
  private readonly db: Kysely<CloudSchema>;
  private readonly publisher: DownlinkPublisher;
  private readonly signer: DownlinkSigner;
  private readonly logger: Logger;
  private readonly now: () => Date;
  /** Per gateway, the tail of its publishes: retained messages must land in version order. */
  private readonly publishing = new Map<string, Promise<boolean>>();

  constructor(options: ConfigDocumentServiceOptions) {
    this.db = options.db;
    this.publisher = options.publisher;
    this.signer = options.signer;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Stores the document as the gateway's next version and publishes it retained. The document's
   * shape is checked against REMOTE_CONFIG_SCHEMA first (through the whole `down/config` message,
   * CONFIG_DOCUMENT_SCHEMA); every issue is reported with its pointer in the document's shape
   * (DOWNLINK_INVALID). The gateway checks the content in full and answers applied or rejected.
   * A publish failure is logged; the version stays pending and republish() sends it later.
   */
  async propose(input: ProposeConfigInput): Promise<ConfigVersionRecord> {
    return this.create(input, null);
  }

  /**
   * A new version carrying the document of `toVersion`, or by default of the newest version the
   * gateway applied before the one it runs now. Refused (DOWNLINK_CONFLICT) when there is no such
   * version or the target failed on the gateway (rejected / rolled_back).
   */
  async rollback(input: RollbackConfigInput): Promise<ConfigVersionRecord> {
    await requireGateway(this.db, input.gatewayId);
    let target: ConfigVersionRecord;
    if (input.toVersion !== undefined) {
      const found = await this.get(input.gatewayId, input.toVersion);
      if (found === null) {
        throw new DownlinkError(
          'DOWNLINK_NOT_FOUND',
          `gateway ${input.gatewayId} has no configuration version ${input.toVersion}`,
        );
      }
      if (FAILED_STATUSES.includes(found.status)) {
        throw new DownlinkError(
          'DOWNLINK_CONFLICT',
          `version ${found.version} was ${found.status} by the gateway: it cannot be restored`,
        );
      }
      target = found;
    } else {
      const applied = await this.applied(input.gatewayId);
      if (applied === null) {
        throw new DownlinkError(
          'DOWNLINK_CONFLICT',
          `gateway ${input.gatewayId} has no applied version to roll back from`,
        );
      }
      const row = await this.db
        .selectFrom('config_versions')
        .selectAll()
        .where('gateway_id', '=', input.gatewayId)
        .where('status', '=', 'applied')
        .where('version', '<', applied.version)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (row === undefined) {
        throw new DownlinkError(
          'DOWNLINK_CONFLICT',
          `gateway ${input.gatewayId} applied no version before ${applied.version}: nothing to roll back to`,
        );
      }
      target = toConfigVersionRecord(row);
    }
    return this.create(
      { gatewayId: input.gatewayId, document: target.document, createdBy: input.createdBy, note: input.note },
      target.version,
    );
  }

  /** The applied version, the newest proposed and the local overrides in force. */
  async current(gatewayId: string): Promise<CurrentConfig> {
    await requireGateway(this.db, gatewayId);
    return {
      gatewayId,
      applied: await this.applied(gatewayId),
      latest: await this.newest(gatewayId),
      overridesInForce: await this.overridesInForce(gatewayId),
    };
  }

  async get(gatewayId: string, version: number): Promise<ConfigVersionRecord | null> {
    const row = await this.db
      .selectFrom('config_versions')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row === undefined ? null : toConfigVersionRecord(row);
  }

  /** Every version of the gateway, newest first. */
  async versions(gatewayId: string, options: { limit?: number } = {}): Promise<ConfigVersionRecord[]> {
    await requireGateway(this.db, gatewayId);
    const rows = await this.db
      .selectFrom('config_versions')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .orderBy('version', 'desc')
      .limit(options.limit ?? 100)
      .execute();
    return rows.map(toConfigVersionRecord);
  }

  /** Every reported local change of the gateway, newest first (the history, set and clear). */
  async overrides(gatewayId: string, options: { limit?: number } = {}): Promise<ConfigOverrideRecord[]> {
    await requireGateway(this.db, gatewayId);
    const rows = await this.overrideRowsInOrder(gatewayId, 'desc', options.limit ?? 100);
    return rows.map(toConfigOverrideRecord);
  }

  /**
   * Publishes the gateway's newest version again (retained). For a service start (the embedded
   * broker keeps retained messages in memory only) and for a gateway coming online while its
   * newest version has no result. False when there is none or the publish failed (logged).
   */
  republish(gatewayId: string): Promise<boolean> {
    // A failed predecessor (database error) must not stop the chain: its caller got the error.
    const previous = (this.publishing.get(gatewayId) ?? Promise.resolve(true)).catch(() => false);
    const next = previous.then(() => this.publishLatest(gatewayId));
    this.publishing.set(gatewayId, next);
    // Drop the entry once it is the tail and done, so the map does not grow with the fleet's history.
    void next.finally(() => {
      if (this.publishing.get(gatewayId) === next) this.publishing.delete(gatewayId);
    });
    return next;
  }

  /** republish() for every gateway with a version; resolves with the number published. */
  async republishAll(): Promise<number> {
    const rows = await this.db.selectFrom('config_versions').select('gateway_id').distinct().execute();
    let published = 0;
    for (const { gateway_id } of rows) if (await this.republish(gateway_id)) published += 1;
    return published;
  }

  private async applied(gatewayId: string): Promise<ConfigVersionRecord | null> {
    // Older applied rows stay `applied` as history; the highest one is what runs.
    return this.newest(gatewayId, 'applied');
  }

  /** The gateway's highest version (with `status`, the highest of that status), or null. */
  private async newest(gatewayId: string, status?: ConfigStatus): Promise<ConfigVersionRecord | null> {
    let query = this.db.selectFrom('config_versions').selectAll().where('gateway_id', '=', gatewayId);
    if (status !== undefined) query = query.where('status', '=', status);
    const row = await query.orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row === undefined ? null : toConfigVersionRecord(row);
  }

  /**
   * The gateway's override rows in the order they happened: by commit time, then by the seq of
   * their event within a batch (the gateway's wall clock `ts` is display only). Overrides ride the
   * priority lane of one epoch at a time, so (received_at, seq) is their outbox order.
   */
  private async overrideRowsInOrder(
    gatewayId: string,
    direction: 'asc' | 'desc' = 'asc',
    limit?: number,
  ): Promise<Selectable<ConfigOverridesTable>[]> {
    let query = this.db
      .selectFrom('config_overrides as o')
      .leftJoin('events as e', 'e.event_id', 'o.event_id')
      .selectAll('o')
      .where('o.gateway_id', '=', gatewayId)
      .orderBy('o.received_at', direction)
      .orderBy('e.seq', direction)
      .orderBy('o.event_id', direction);
    if (limit !== undefined) query = query.limit(limit);
    return query.execute();
  }

  private async overridesInForce(gatewayId: string): Promise<ConfigOverrideRecord[]> {
    const last = new Map<string, Selectable<ConfigOverridesTable>>();
    for (const row of await this.overrideRowsInOrder(gatewayId)) last.set(row.pointer, row);
    return [...last.values()]
      .filter((row) => row.action === 'set')
      .sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0))
      .map(toConfigOverrideRecord);
  }

  private async create(
    input: ProposeConfigInput,
    restoresVersion: number | null,
  ): Promise<ConfigVersionRecord> {
    await requireGateway(this.db, input.gatewayId);
    // The whole message as it will be published: version 1 stands in for the real one, which only
    // the transaction below can pick, and a placeholder for the hash, which is computed only once
    // the document is known to be bounded (its depth too: hashing recurses through it).
    const checked = validateConfigDocument({ version: 1, hash: '0'.repeat(64), document: input.document });
    const hash = checked.ok ? configDocumentHash(input.document as RemoteConfig) : '';
    if (!checked.ok) {
      throw new DownlinkError('DOWNLINK_INVALID', 'the configuration document is invalid', {
        issues: documentIssues(checked.errors),
      });
    }
    const documentText = canonicalJson(input.document);
    // Room for `{"version":...,"hash":"...","document":...,"sig":{...}}` around it.
    if (Buffer.byteLength(documentText) + 1024 > MAX_PAYLOAD_BYTES) {
      throw new DownlinkError('DOWNLINK_INVALID', 'the configuration document is invalid', {
        issues: [{ pointer: '', message: `the document is larger than the ${MAX_PAYLOAD_BYTES}-byte limit` }],
      });
    }

    let version: number;
    try {
      version = await this.insertNextVersion(input, hash, documentText, restoresVersion);
    } catch (error) {
      // Belt and braces behind the row lock: should two proposals still pick one number, the
      // loser takes the next one.
      if (!isUniqueViolation(error)) throw error;
      version = await this.insertNextVersion(input, hash, documentText, restoresVersion);
    }
    this.logger.info(
      { gatewayId: input.gatewayId, version, hash, restoresVersion, createdBy: input.createdBy },
      restoresVersion === null ? 'configuration version stored' : 'configuration rollback version stored',
    );
    await this.republish(input.gatewayId);
    const stored = await this.get(input.gatewayId, version);
    if (stored === null) throw new DownlinkError('DOWNLINK_NOT_FOUND', `version ${version} vanished`);
    return stored;
  }

  /** One transaction: next number, the new row, and older unanswered versions superseded. */
  private insertNextVersion(
    input: ProposeConfigInput,
    hash: string,
    documentText: string,
    restoresVersion: number | null,
  ): Promise<number> {
    const createdAt = this.now().toISOString();
    return this.db.transaction().execute(async (trx) => {
      // PostgreSQL: the gateway's row lock makes proposals for one gateway take turns, so max + 1
      // is free when inserted (SQLite serialises transactions anyway; db/open.ts drops the clause).
      await trx
        .selectFrom('gateways')
        .select('gateway_id')
        .where('gateway_id', '=', input.gatewayId)
        .forUpdate()
        .executeTakeFirst();
      const last = await trx
        .selectFrom('config_versions')
        .select((eb) => eb.fn.max('version').as('version'))
        .where('gateway_id', '=', input.gatewayId)
        .executeTakeFirst();
      const version = Number(last?.version ?? 0) + 1;
      await trx
        .insertInto('config_versions')
        .values({
          gateway_id: input.gatewayId,
          version,
          hash,
          document: documentText,
          created_by: input.createdBy,
          created_at: createdAt,
          note: input.note ?? null,
          restores_version: restoresVersion,
          status: 'pending',
          result_at: null,
          errors: null,
        })
        .execute();
      // The retained message is replaced by the new one, so an older pending version will never
      // reach a gateway that has not seen it yet; if one still answers, its result wins.
      await trx
        .updateTable('config_versions')
        .set({ status: 'superseded' })
        .where('gateway_id', '=', input.gatewayId)
        .where('status', '=', 'pending')
        .where('version', '<', version)
        .execute();
      return version;
    });
  }

  /**
   * Publishes the newest version, whichever call asked: calls are chained per gateway, so the
   * retained message a gateway finds is always the newest even when two proposals race.
   */
  private async publishLatest(gatewayId: string): Promise<boolean> {
    const record = await this.newest(gatewayId);
    if (record === null) return false;
    const message: ConfigDocument = { version: record.version, hash: record.hash, document: record.document };
    try {
      // Signed at each publish: a republish after a key rotation carries the key that signs now.
      const signed = this.signer.sign('down/config', gatewayId, message);
      // Retained (MQTT 3.1.1 section 3.3.1.3): the broker keeps the newest and hands it to the
      // gateway on every subscribe.
      await this.publisher.publish(configTopic(gatewayId), JSON.stringify(signed), { retain: true });
    } catch (error) {
      this.logger.warn(
        { gatewayId, version: record.version, err: error instanceof Error ? error.message : String(error) },
        'configuration document not published; it is sent again when the gateway reports online',
      );
      return false;
    }
    return true;
  }
}
