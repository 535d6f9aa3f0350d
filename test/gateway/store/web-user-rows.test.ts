/**
 * The web UI's account rows in kerbside.db (gateway/store/web-user-rows.ts, StoreCycle.webUsers):
 * written in the cycle's one transaction with the audit event that reports them, so a failed
 * account write leaves neither.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { AuditEvent } from '../../../cloud-sync/contract/events.js';
import { isStoreError } from '../../../gateway/store/errors.js';
import { Stores, count, tempDirs } from './helpers.js';

const dirs = tempDirs('kerbside-web-users-');
after(dirs.cleanup);
const stores = new Stores();
afterEach(() => stores.closeAll());

const audit = (action: string, target: string): AuditEvent => ({
  kind: 'audit',
  actor: 'admin.chen',
  action,
  target,
  detail: {},
});

describe('GatewayStore: web users', () => {
  it('writes an account row and its audit event in one commit, and updates only the fields given', () => {
    const store = stores.openStore(dirs.fresh());
    store.commitCycle({
      webUsers: [
        { kind: 'create', username: 'tech.li', role: 'technician', passwordHash: 'scrypt$h1', wallMs: 1000 },
      ],
      events: [audit('web.user_add', 'tech.li')],
    });
    store.commitCycle({
      webUsers: [{ kind: 'update', username: 'tech.li', lastLoginWallMs: 2000, wallMs: 2000 }],
      events: [audit('web.login', 'tech.li')],
    });
    const row = store.readTransaction((db) => db.prepare('SELECT * FROM web_users').get());
    assert.deepEqual(row, {
      username: 'tech.li',
      role: 'technician',
      password_hash: 'scrypt$h1',
      disabled: 0,
      created_wall_ms: 1000,
      updated_wall_ms: 2000,
      last_login_wall_ms: 2000,
    });
    assert.equal(
      store.readTransaction((db) => count(db, 'audit')),
      2,
    );
  });

  it('rolls the audit event back with a refused account write: a duplicate or an unknown user', () => {
    const store = stores.openStore(dirs.fresh());
    const create = {
      kind: 'create',
      username: 'tech.li',
      role: 'technician',
      passwordHash: 'scrypt$h1',
      wallMs: 1,
    } as const;
    store.commitCycle({ webUsers: [create], events: [audit('web.user_add', 'tech.li')] });
    assert.throws(
      () => store.commitCycle({ webUsers: [create], events: [audit('web.user_add', 'tech.li')] }),
      (error: unknown) => isStoreError(error, 'STORE_INVALID_INPUT'),
    );
    assert.throws(
      () =>
        store.commitCycle({
          webUsers: [{ kind: 'update', username: 'nobody', disabled: true, wallMs: 2 }],
          events: [audit('web.user_update', 'nobody')],
        }),
      (error: unknown) => isStoreError(error, 'STORE_INVALID_INPUT') && /nobody/.test(error.message),
    );
    assert.equal(
      store.readTransaction((db) => count(db, 'audit')),
      1,
      'only the first audit row',
    );
    assert.equal(
      store.readTransaction((db) => count(db, 'web_users')),
      1,
    );
  });
});
