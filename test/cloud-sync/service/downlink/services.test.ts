/**
 * CommandService, ConfigDocumentService and the downlink results hook on a real database (SQLite
 * and PostgreSQL), with a recording publisher in place of the broker; results arrive through
 * ingestBatch exactly as the consumer commits them (docs/uplink-contract.md, delivery rule 7).
 */
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { configDocumentHash, type RemoteConfig } from '../../../../cloud-sync/contract/config-document.js';
import type { GatewayEventBody } from '../../../../cloud-sync/contract/events.js';
import { commandTopic, configTopic } from '../../../../cloud-sync/contract/topics.js';
import { parseCommand, parseConfigDocument } from '../../../../cloud-sync/contract/validate.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import { CommandService, type CommandRecord } from '../../../../cloud-sync/service/downlink/commands.js';
import { ConfigDocumentService } from '../../../../cloud-sync/service/downlink/config-documents.js';
import { DownlinkError } from '../../../../cloud-sync/service/downlink/errors.js';
import { downlinkResultsHook } from '../../../../cloud-sync/service/downlink/results-hook.js';
import { downlinkStatusListener, republishAtStart } from '../../../../cloud-sync/service/downlink/resync.js';
import { waitFor } from '../service-helpers.js';
import {
  backends,
  Clock,
  enrollGateway,
  EPOCH,
  GW,
  OTHER_GW,
  RecordingPublisher,
  ResultUplink,
  silentLogger,
  testSigner,
  verifiedMessage,
  type OpenedDatabase,
} from './helpers.js';

const BACKENDS = backends();
after(() => BACKENDS.stop());

const SWITCH = { on: true, durationS: 600, reason: 'road works at night' };

function commandResult(
  command: CommandRecord,
  status: 'succeeded' | 'failed' | 'rejected' | 'expired' | 'duplicate',
  error: string | null = null,
): GatewayEventBody {
  return {
    kind: 'command_result',
    commandId: command.id,
    action: command.action,
    target: command.target,
    status,
    error,
  };
}

function configResult(
  version: number,
  document: RemoteConfig,
  status: 'applied' | 'rejected' | 'rolled_back',
  errors: { pointer: string; message: string }[] = [],
): GatewayEventBody {
  return {
    kind: 'config_result',
    version,
    hash: configDocumentHash(document),
    status,
    activeVersion: status === 'applied' ? version : null,
    errors,
  };
}

function override(pointer: string, action: 'set' | 'clear', value: unknown): GatewayEventBody {
  return {
    kind: 'config_override',
    pointer,
    action,
    value,
    previous: 5,
    by: 'tech-li',
    reason: 'field test',
  };
}

async function rejection(promise: Promise<unknown>): Promise<DownlinkError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DownlinkError, `expected a DownlinkError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

function pointers(error: DownlinkError): string[] {
  return error.issues.map((issue) => issue.pointer).sort();
}

const DOC_A: RemoteConfig = { alarms: { 'gas-1': { h2s: { levels: [{ setpoint: 10 }] } } } };
const DOC_B: RemoteConfig = { alarms: { 'gas-1': { h2s: { levels: [{ setpoint: 15 }] } } } };
const DOC_C: RemoteConfig = { devices: { 'gas-1': { pollIntervalMs: 2000 } } };
const DOC_D: RemoteConfig = { lighting: { midnightDimming: { level: 40 } } };

for (const backend of BACKENDS.list) {
  describe(`downlink services on ${backend.name}`, () => {
    let opened: OpenedDatabase;
    let db: Kysely<CloudSchema>;
    let clock: Clock;
    let publisher: RecordingPublisher;
    let commands: CommandService;
    let configs: ConfigDocumentService;
    let uplink: ResultUplink;

    beforeEach(async () => {
      opened = await backend.open();
      db = opened.db;
      clock = new Clock();
      publisher = new RecordingPublisher();
      commands = new CommandService({
        db,
        publisher,
        signer: testSigner,
        logger: silentLogger,
        now: clock.now,
      });
      configs = new ConfigDocumentService({
        db,
        publisher,
        signer: testSigner,
        logger: silentLogger,
        now: clock.now,
      });
      uplink = new ResultUplink(db, clock);
      await enrollGateway(db, GW);
      await enrollGateway(db, OTHER_GW);
    });
    afterEach(() => opened.close());

    describe('commands', () => {
      it('stores, then publishes a contract-valid command (QoS 1, not retained) with the operator as params.by', async () => {
        const record = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'loop-2/lamp-7',
          // A `by` in the input is not trusted: the authenticated operator is recorded.
          params: { ...SWITCH, by: 'mallory' },
          issuedBy: 'zhang.wei',
        });
        assert.equal(record.status, 'sent');
        assert.equal(record.publishCount, 1);
        assert.equal(record.publishedAt, clock.current.toISOString());
        assert.equal(record.issuedAt, '2026-03-01T08:00:00.000Z');
        assert.equal(record.expiresAt, '2026-03-01T08:05:00.000Z', 'default lifetime 300 s');
        assert.equal(record.issuedBy, 'zhang.wei');
        assert.deepEqual(record.params, { ...SWITCH, by: 'zhang.wei' });

        assert.equal(publisher.messages.length, 1);
        const [message] = publisher.messages;
        assert.equal(message?.topic, commandTopic(GW));
        assert.equal(message?.retain, false);
        const parsed = parseCommand(message?.payload ?? '');
        assert.ok(parsed.ok, JSON.stringify(parsed));
        assert.deepEqual(verifiedMessage('down/cmd', GW, parsed.value), {
          id: record.id,
          issuedAt: record.issuedAt,
          expiresAt: record.expiresAt,
          target: 'loop-2/lamp-7',
          action: 'lamp.switch',
          params: { ...SWITCH, by: 'zhang.wei' },
        });
        assert.deepEqual(await commands.get(record.id), record);
      });

      it('a result committed before the publish is recorded is not overwritten by `sent`', async () => {
        publisher.onPublish = async (message) => {
          const command = JSON.parse(message.payload) as { id: string; action: string; target: string };
          await uplink.send(GW, [
            {
              kind: 'command_result',
              commandId: command.id,
              action: command.action,
              target: command.target,
              status: 'succeeded',
              error: null,
            },
          ]);
        };
        const record = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'lamp-1',
          params: SWITCH,
          issuedBy: 'zhang.wei',
        });
        assert.equal(record.status, 'succeeded');
        assert.equal(record.publishCount, 1);
      });

      it('a refusal for the signature (code) settles nothing: the genuine result still does', async () => {
        const record = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'lamp-1',
          params: SWITCH,
          issuedBy: 'zhang.wei',
        });
        const body = {
          kind: 'command_result',
          commandId: record.id,
          action: 'lamp.switch',
          target: 'lamp-1',
        } as const;
        // A forged copy with this id, refused by the gateway before the genuine one arrived.
        await uplink.send(GW, [
          {
            ...body,
            status: 'rejected',
            error: 'DOWNLINK_BAD_SIGNATURE: ...',
            code: 'DOWNLINK_BAD_SIGNATURE',
          },
        ]);
        assert.equal((await commands.get(record.id))?.status, 'sent', 'the refusal did not settle it');
        await uplink.send(GW, [{ ...body, status: 'succeeded', error: null }]);
        assert.equal((await commands.get(record.id))?.status, 'succeeded');
      });

      it('refuses a command breaking the contract with every issue, storing and publishing nothing', async () => {
        const error = await rejection(
          commands.issue({
            gatewayId: GW,
            action: 'lamp.dim',
            target: 'loop-2',
            params: { level: 150, durationS: 600 },
            ttlS: 0,
            issuedBy: 'zhang.wei',
          }),
        );
        assert.equal(error.code, 'DOWNLINK_INVALID');
        assert.deepEqual(pointers(error), ['/params/level', '/params/reason', '/ttlS']);
        const shelve = await rejection(
          commands.issue({
            gatewayId: GW,
            action: 'alarm.shelve',
            target: 'gas-1:h2s',
            params: { reason: 'sensor swap', mode: 'timed' },
            issuedBy: 'zhang.wei',
          }),
        );
        assert.deepEqual(
          pointers(shelve),
          ['/params/durationS'],
          'the semantic check of validate.ts runs too',
        );
        const unknownAction = await rejection(
          commands.issue({
            gatewayId: GW,
            action: 'lamp.explode',
            target: 'x',
            params: {},
            issuedBy: 'zhang.wei',
          }),
        );
        assert.deepEqual(pointers(unknownAction), ['/action']);
        const badCase = await rejection(
          commands.issue({
            gatewayId: GW,
            action: 'lamp.switch',
            target: 'loop-2',
            params: SWITCH,
            caseId: 'no-such-case',
            issuedBy: 'zhang.wei',
          }),
        );
        assert.deepEqual(pointers(badCase), ['/caseId']);
        assert.deepEqual(await commands.list(), []);
        assert.equal(publisher.messages.length, 0);
      });

      it('refuses an unknown gateway (404) and a disabled one (409)', async () => {
        await enrollGateway(db, 'cab-99', true);
        const input = { action: 'lamp.switch', target: 'loop-1', params: SWITCH, issuedBy: 'zhang.wei' };
        assert.equal(
          (await rejection(commands.issue({ ...input, gatewayId: 'cab-77' }))).code,
          'DOWNLINK_UNKNOWN_GATEWAY',
        );
        assert.equal(
          (await rejection(commands.issue({ ...input, gatewayId: 'cab-99' }))).code,
          'DOWNLINK_CONFLICT',
        );
        assert.equal(publisher.messages.length, 0);
      });

      it('keeps a command pending when the broker is away, and resends open unexpired ones when asked', async () => {
        publisher.failing = true;
        const first = await commands.issue({
          gatewayId: GW,
          action: 'loop.switch',
          target: 'loop-1',
          params: SWITCH,
          ttlS: 60,
          issuedBy: 'zhang.wei',
        });
        assert.equal(first.status, 'pending');
        assert.equal(first.publishCount, 0);
        assert.equal(first.publishedAt, null);
        const second = await commands.issue({
          gatewayId: GW,
          action: 'loop.switch',
          target: 'loop-2',
          params: SWITCH,
          ttlS: 3600,
          issuedBy: 'zhang.wei',
        });
        const settled = await commands.issue({
          gatewayId: GW,
          action: 'loop.switch',
          target: 'loop-3',
          params: SWITCH,
          ttlS: 3600,
          issuedBy: 'zhang.wei',
        });
        const elsewhere = await commands.issue({
          gatewayId: OTHER_GW,
          action: 'loop.switch',
          target: 'loop-1',
          params: SWITCH,
          issuedBy: 'zhang.wei',
        });
        publisher.failing = false;
        await uplink.send(GW, [commandResult(settled, 'failed', 'relay did not answer')]);
        clock.advance(120_000); // `first` (60 s) has expired, `second` has not

        assert.equal(await commands.resendPending(GW), 1);
        assert.deepEqual(
          publisher.messages.map((m) => JSON.parse(m.payload).id),
          [second.id],
          'only the open, unexpired command of this gateway',
        );
        const resent = await commands.get(second.id);
        assert.equal(resent?.status, 'sent');
        assert.equal(resent?.publishCount, 1);
        // A `sent` command without a result is published again too: the gateway dedups by id.
        assert.equal(await commands.resendPending(GW), 1);
        assert.equal((await commands.get(second.id))?.publishCount, 2);
        assert.equal((await commands.get(first.id))?.status, 'pending');
        assert.equal((await commands.get(elsewhere.id))?.status, 'pending');
        assert.equal((await commands.get(settled.id))?.status, 'failed');
      });

      it('marks commands past expiresAt without a result unconfirmed; a late result still wins', async () => {
        const sent = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'lamp-1',
          params: SWITCH,
          ttlS: 60,
          issuedBy: 'zhang.wei',
        });
        const done = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'lamp-2',
          params: SWITCH,
          ttlS: 60,
          issuedBy: 'zhang.wei',
        });
        const later = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'lamp-3',
          params: SWITCH,
          ttlS: 600,
          issuedBy: 'zhang.wei',
        });
        await uplink.send(GW, [commandResult(done, 'succeeded')]);
        assert.equal(await commands.expireOverdue(), 0, 'nothing has expired yet');
        clock.advance(61_000);
        assert.equal(await commands.expireOverdue(), 1);
        assert.equal((await commands.get(sent.id))?.status, 'unconfirmed');
        assert.equal((await commands.get(done.id))?.status, 'succeeded', 'a settled command stays settled');
        assert.equal((await commands.get(later.id))?.status, 'sent');
        assert.deepEqual(
          (await commands.list({ gatewayId: GW, status: 'unconfirmed' })).map((c) => c.id),
          [sent.id],
        );

        const [event] = await uplink.send(GW, [commandResult(sent, 'succeeded')]);
        const settled = await commands.get(sent.id);
        assert.equal(settled?.status, 'succeeded');
        assert.equal(settled?.resultEventId, event?.id);
        assert.equal(settled?.resultAt, clock.current.toISOString());
      });
    });

    describe('command results (ingest hook)', () => {
      it('settles a command; a duplicate result never overwrites it', async () => {
        const command = await commands.issue({
          gatewayId: GW,
          action: 'lamp.dim',
          target: 'loop-2',
          params: { level: 40, durationS: 600, reason: 'energy saving trial' },
          issuedBy: 'zhang.wei',
        });
        clock.advance(2000);
        const [first] = await uplink.send(GW, [commandResult(command, 'failed', 'concentrator timeout')]);
        let stored = await commands.get(command.id);
        assert.equal(stored?.status, 'failed');
        assert.equal(stored?.error, 'concentrator timeout');
        assert.equal(stored?.resultAt, '2026-03-01T08:00:02.000Z');
        assert.equal(stored?.resultEventId, first?.id);

        clock.advance(2000);
        await uplink.send(GW, [commandResult(command, 'duplicate', 'already handled')]);
        await uplink.send(GW, [commandResult(command, 'succeeded')]);
        stored = await commands.get(command.id);
        assert.equal(stored?.status, 'failed', 'the first final result stays');
        assert.equal(stored?.error, 'concentrator timeout');
        assert.equal(stored?.resultEventId, first?.id);
        assert.equal(stored?.resultAt, '2026-03-01T08:00:02.000Z');
      });

      it('a duplicate before any result fills the result fields only; the real result still settles it', async () => {
        const command = await commands.issue({
          gatewayId: GW,
          action: 'alarm.acknowledge',
          target: 'gas-1:h2s',
          params: {},
          issuedBy: 'zhang.wei',
        });
        const [duplicate] = await uplink.send(GW, [commandResult(command, 'duplicate')]);
        let stored = await commands.get(command.id);
        assert.equal(stored?.status, 'sent', 'a duplicate says nothing about the outcome');
        assert.equal(stored?.resultEventId, duplicate?.id);
        assert.notEqual(stored?.resultAt, null);
        const [real] = await uplink.send(GW, [commandResult(command, 'rejected', 'alarm is not active')]);
        stored = await commands.get(command.id);
        assert.equal(stored?.status, 'rejected');
        assert.equal(stored?.error, 'alarm is not active');
        assert.equal(stored?.resultEventId, real?.id);
      });

      it("ignores results for unknown commands and for another gateway's commands", async () => {
        const command = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'lamp-1',
          params: SWITCH,
          issuedBy: 'zhang.wei',
        });
        const result = await uplink.send(OTHER_GW, [
          commandResult(command, 'succeeded'),
          commandResult({ ...command, id: '11111111-2222-4333-8444-555555555555' }, 'succeeded'),
        ]);
        assert.equal(result.length, 2, 'the batch commits');
        assert.equal((await commands.get(command.id))?.status, 'sent');
      });
    });

    describe('configuration documents', () => {
      it('stores version 1, 2 ... with the canonical hash, publishes the newest retained, supersedes unanswered ones', async () => {
        const v1 = await configs.propose({
          gatewayId: GW,
          document: DOC_A,
          createdBy: 'admin.li',
          note: 'h2s 10',
        });
        assert.equal(v1.version, 1);
        assert.equal(v1.hash, configDocumentHash(DOC_A));
        assert.equal(v1.status, 'pending');
        assert.equal(v1.note, 'h2s 10');
        assert.equal(v1.createdAt, clock.current.toISOString());
        const v2 = await configs.propose({ gatewayId: GW, document: DOC_B, createdBy: 'admin.li' });
        assert.equal(v2.version, 2);
        assert.equal((await configs.get(GW, 1))?.status, 'superseded');
        const other = await configs.propose({ gatewayId: OTHER_GW, document: DOC_A, createdBy: 'admin.li' });
        assert.equal(other.version, 1, 'versions count per gateway');

        assert.deepEqual(
          publisher.messages.map((m) => [m.topic, m.retain]),
          [
            [configTopic(GW), true],
            [configTopic(GW), true],
            [configTopic(OTHER_GW), true],
          ],
        );
        const parsed = parseConfigDocument(publisher.messages[1]?.payload ?? '');
        assert.ok(parsed.ok, JSON.stringify(parsed));
        assert.deepEqual(verifiedMessage('down/config', GW, parsed.value), {
          version: 2,
          hash: configDocumentHash(DOC_B),
          document: DOC_B,
        });
        assert.deepEqual(
          (await configs.versions(GW)).map((v) => [v.version, v.status]),
          [
            [2, 'pending'],
            [1, 'superseded'],
          ],
        );
      });

      it('refuses a document of the wrong shape with every issue, pointers in the document', async () => {
        const error = await rejection(
          configs.propose({
            gatewayId: GW,
            document: {
              devices: { 'gas-1': { pollIntervalMs: 5, colour: 'red' } },
              clearLocalOverrides: 'yes',
              extra: 1,
            } as unknown as RemoteConfig,
            createdBy: 'admin.li',
          }),
        );
        assert.equal(error.code, 'DOWNLINK_INVALID');
        assert.deepEqual(pointers(error), [
          '/clearLocalOverrides',
          '/devices/gas-1/colour',
          '/devices/gas-1/pollIntervalMs',
          '/extra',
        ]);
        assert.equal(
          (await rejection(configs.propose({ gatewayId: 'cab-77', document: DOC_A, createdBy: 'admin.li' })))
            .code,
          'DOWNLINK_UNKNOWN_GATEWAY',
        );
        assert.deepEqual(await configs.versions(GW), []);
        assert.equal(publisher.messages.length, 0);
      });

      it('records applied / rejected results; current() is the highest applied version', async () => {
        await configs.propose({ gatewayId: GW, document: DOC_A, createdBy: 'admin.li' });
        await uplink.send(GW, [configResult(1, DOC_A, 'applied')]);
        await configs.propose({ gatewayId: GW, document: DOC_B, createdBy: 'admin.li' });
        await uplink.send(GW, [configResult(2, DOC_B, 'applied')]);
        await configs.propose({ gatewayId: GW, document: DOC_C, createdBy: 'admin.li' });
        const errors = [{ pointer: '/devices/gas-1/pollIntervalMs', message: 'below the bus minimum' }];
        clock.advance(5000);
        await uplink.send(GW, [configResult(3, DOC_C, 'rejected', errors)]);
        // A result whose hash is not the stored document's is about another document: skipped.
        await uplink.send(GW, [configResult(2, DOC_D, 'rolled_back')]);

        const current = await configs.current(GW);
        assert.equal(current.applied?.version, 2);
        assert.deepEqual(current.applied?.document, DOC_B);
        assert.equal(current.applied?.errors, null);
        assert.equal(current.latest?.version, 3);
        assert.equal(current.latest?.status, 'rejected');
        assert.deepEqual(current.latest?.errors, errors);
        assert.equal(current.latest?.resultAt, clock.current.toISOString());
        assert.equal((await configs.get(GW, 1))?.status, 'applied', 'older applied versions stay as history');
        // Another gateway's result for the same version number changes nothing here.
        await uplink.send(OTHER_GW, [configResult(3, DOC_C, 'applied')]);
        assert.equal((await configs.get(GW, 3))?.status, 'rejected');
      });

      it('rolls back to the applied version before the current one, or to a named version', async () => {
        assert.equal(
          (await rejection(configs.rollback({ gatewayId: GW, createdBy: 'admin.li', note: 'undo' }))).code,
          'DOWNLINK_CONFLICT',
          'nothing applied yet',
        );
        await configs.propose({ gatewayId: GW, document: DOC_A, createdBy: 'admin.li' });
        await uplink.send(GW, [configResult(1, DOC_A, 'applied')]);
        assert.equal(
          (await rejection(configs.rollback({ gatewayId: GW, createdBy: 'admin.li', note: 'undo' }))).code,
          'DOWNLINK_CONFLICT',
          'nothing applied before version 1',
        );
        await configs.propose({ gatewayId: GW, document: DOC_B, createdBy: 'admin.li' });
        await uplink.send(GW, [configResult(2, DOC_B, 'applied')]);
        await configs.propose({ gatewayId: GW, document: DOC_C, createdBy: 'admin.li' });
        await uplink.send(GW, [configResult(3, DOC_C, 'rejected', [{ pointer: '', message: 'no' }])]);
        await configs.propose({ gatewayId: GW, document: DOC_D, createdBy: 'admin.li' }); // pending

        const back = await configs.rollback({
          gatewayId: GW,
          createdBy: 'admin.wang',
          note: 'h2s 15 too high',
        });
        assert.equal(back.version, 5);
        assert.equal(back.restoresVersion, 1, 'the applied version before the current applied one (2)');
        assert.deepEqual(back.document, DOC_A);
        assert.equal(back.hash, configDocumentHash(DOC_A));
        assert.equal(back.createdBy, 'admin.wang');
        assert.equal(back.note, 'h2s 15 too high');
        assert.equal((await configs.get(GW, 4))?.status, 'superseded');
        const published = parseConfigDocument(publisher.messages.at(-1)?.payload ?? '');
        assert.ok(published.ok);
        assert.deepEqual(verifiedMessage('down/config', GW, published.value), {
          version: 5,
          hash: configDocumentHash(DOC_A),
          document: DOC_A,
        });

        const named = await configs.rollback({
          gatewayId: GW,
          createdBy: 'admin.li',
          note: 'back to 2',
          toVersion: 2,
        });
        assert.equal(named.version, 6);
        assert.equal(named.restoresVersion, 2);
        assert.deepEqual(named.document, DOC_B);
        const rejected = await rejection(
          configs.rollback({ gatewayId: GW, createdBy: 'a', note: 'x', toVersion: 3 }),
        );
        assert.equal(rejected.code, 'DOWNLINK_CONFLICT', 'a rejected document is not restored');
        const missing = await rejection(
          configs.rollback({ gatewayId: GW, createdBy: 'a', note: 'x', toVersion: 42 }),
        );
        assert.equal(missing.code, 'DOWNLINK_NOT_FOUND');
      });

      it('keeps a version pending when the broker is away; republish sends the newest retained', async () => {
        publisher.failing = true;
        const v1 = await configs.propose({ gatewayId: GW, document: DOC_A, createdBy: 'admin.li' });
        assert.equal(v1.status, 'pending');
        assert.equal(publisher.messages.length, 0);
        publisher.failing = false;
        assert.equal(await configs.republishAll(), 1);
        assert.equal(await configs.republish(OTHER_GW), false, 'no version: nothing to publish');
        assert.deepEqual(
          publisher.messages.map((m) => [m.topic, m.retain, JSON.parse(m.payload).version]),
          [[configTopic(GW), true, 1]],
        );
      });

      it('proposals at once get distinct versions (the gateway row lock) and the newest stays retained', async () => {
        const documents: RemoteConfig[] = [1, 2, 3, 4, 5, 6].map((n) => ({
          devices: { 'gas-1': { name: `gas ${n}` } },
        }));
        const records = await Promise.all(
          documents.map((document) => configs.propose({ gatewayId: GW, document, createdBy: 'admin.li' })),
        );
        assert.deepEqual(
          records.map((r) => r.version).sort((a, b) => a - b),
          [1, 2, 3, 4, 5, 6],
        );
        const last = JSON.parse(publisher.messages.at(-1)?.payload ?? '{}') as { version: number };
        assert.equal(last.version, 6, 'the last retained message is the newest version');
        assert.equal((await configs.versions(GW)).filter((v) => v.status === 'pending').length, 1);
      });
    });

    describe('local overrides (config_override events)', () => {
      it('stores each override once and lists those in force (the last event per pointer is a set)', async () => {
        const events = await uplink.send(GW, [
          override('/alarms/gas-1/h2s/onDelayS', 'set', 30),
          override('/devices/gas-1/pollIntervalMs', 'set', 500),
          override('/alarms/gas-1/h2s/onDelayS', 'clear', null),
          override('/lighting/midnightDimming', 'set', { level: 30 }),
        ]);
        await uplink.send(OTHER_GW, [override('/devices/x/name', 'set', 'other')]);

        // A re-delivery of the committed batch stores nothing again (ingest dedup, then the event_id key).
        const redelivered = await uplink.deliver({
          gw: GW,
          epoch: EPOCH,
          lane: 'priority',
          after: 0,
          events,
        });
        assert.equal(redelivered.duplicates, 4);
        await db
          .transaction()
          .execute((trx) =>
            downlinkResultsHook()(
              trx,
              { gatewayId: GW, epoch: EPOCH, lane: 'priority', receivedAt: clock.current.toISOString() },
              events,
            ),
          );

        const history = await configs.overrides(GW);
        assert.equal(history.length, 4);
        assert.deepEqual(
          history.map((o) => [o.pointer, o.action]),
          [
            ['/lighting/midnightDimming', 'set'],
            ['/alarms/gas-1/h2s/onDelayS', 'clear'],
            ['/devices/gas-1/pollIntervalMs', 'set'],
            ['/alarms/gas-1/h2s/onDelayS', 'set'],
          ],
          'newest first, in outbox order within one batch',
        );
        const cleared = history[1];
        assert.equal(cleared?.value, null);
        assert.equal(cleared?.previous, 5);
        assert.equal(cleared?.actor, 'tech-li');
        assert.equal(cleared?.eventId, events[2]?.id);

        const current = await configs.current(GW);
        assert.deepEqual(
          current.overridesInForce.map((o) => [o.pointer, o.value]),
          [
            ['/devices/gas-1/pollIntervalMs', 500],
            ['/lighting/midnightDimming', { level: 30 }],
          ],
        );
        assert.equal(current.applied, null);
        assert.equal(current.latest, null);
      });
    });

    describe('resync', () => {
      it('an online report resends open commands and a newest version without a result; offline does nothing', async () => {
        publisher.failing = true;
        const command = await commands.issue({
          gatewayId: GW,
          action: 'lamp.switch',
          target: 'lamp-1',
          params: SWITCH,
          issuedBy: 'zhang.wei',
        });
        await configs.propose({ gatewayId: GW, document: DOC_A, createdBy: 'admin.li' });
        await configs.propose({ gatewayId: OTHER_GW, document: DOC_A, createdBy: 'admin.li' });
        await uplink.send(OTHER_GW, [configResult(1, DOC_A, 'applied')]);
        publisher.failing = false;

        const listener = downlinkStatusListener({ commands, configs, logger: silentLogger });
        const status = {
          online: true,
          version: '0.1.0',
          uptimeS: 5,
          backlog: { count: 0, oldestAgeS: null },
        };
        listener(GW, { ...status, online: false });
        listener(OTHER_GW, status);
        listener(GW, status);
        await waitFor(
          async () => (await commands.get(command.id))?.status === 'sent',
          5000,
          'command resent',
        );
        await waitFor(() => publisher.messages.length >= 2, 5000, 'both messages');
        assert.deepEqual(
          publisher.messages.map((m) => m.topic).sort(),
          [commandTopic(GW), configTopic(GW)].sort(),
        );

        await republishAtStart({ commands, configs, logger: silentLogger });
        assert.deepEqual(
          publisher.messages
            .slice(2)
            .map((m) => [m.topic, m.retain])
            .sort(),
          [
            [configTopic(GW), true],
            [configTopic(OTHER_GW), true],
          ],
          'at start every gateway with a version gets its newest retained again',
        );
      });
    });
  });
}

describe('downlink resync after an online report', () => {
  /** A narrow unit test of the listener's error handling: the services are stand-ins. */
  function listenerWith(current: () => Promise<unknown>) {
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const logger = {
      error: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
      info: () => undefined,
      warn: () => undefined,
    };
    let republished = 0;
    const listener = downlinkStatusListener({
      commands: { resendPending: () => Promise.resolve(0) } as unknown as CommandService,
      configs: {
        current,
        republish: () => {
          republished++;
          return Promise.resolve();
        },
      } as unknown as ConfigDocumentService,
      logger: logger as unknown as Logger,
    });
    return { listener, lines, republished: () => republished };
  }
  const online = { online: true, version: '0.1.0', uptimeS: 5, backlog: { count: 0, oldestAgeS: null } };

  it('a database outage is logged as a failure, never taken for "nothing waiting"', async () => {
    const { listener, lines } = listenerWith(() => Promise.reject(new Error('connection refused')));
    listener(GW, online);
    await waitFor(() => lines.length > 0, 2000, 'the failure logged');
    assert.equal(lines[0]?.message, 'downlink resync after online report failed');
  });

  it('a gateway no longer enrolled has nothing waiting: no failure, nothing republished', async () => {
    const { listener, lines, republished } = listenerWith(() =>
      Promise.reject(new DownlinkError('DOWNLINK_UNKNOWN_GATEWAY', 'not enrolled')),
    );
    listener(GW, online);
    // The same listener on a failing database logs within this wait (test above): silence here is
    // the answer, checked after a resync of another gateway has completed.
    const done = listenerWith(() => Promise.resolve({ latest: { status: 'pending' } }));
    done.listener(GW, online);
    await waitFor(() => done.republished() === 1, 2000, 'the other resync done');
    assert.deepEqual(lines, []);
    assert.equal(republished(), 0);
  });
});
