/**
 * Migration 0004: the case service (docs/cases.md): component registry, cases and their history,
 * operator accounts and sessions, downlink commands and configuration documents; events get a
 * device_id column (for a case's trend evidence) and the audit trail gets outcome and source.
 */
import type { Kysely, Migration } from 'kysely';

export const m0004Cases: Migration = {
  // Schema builder only, so the same migration runs on SQLite and PostgreSQL (migrations.ts).
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('events').addColumn('device_id', 'text').execute();
    await db.schema
      .createIndex('events_device_idx')
      .on('events')
      .columns(['gateway_id', 'device_id', 'received_at'])
      .execute();
    await db.schema.alterTable('admin_audit').addColumn('outcome', 'text').execute();
    await db.schema.alterTable('admin_audit').addColumn('source', 'text').execute();
    await db.schema.createIndex('admin_audit_actor_idx').on('admin_audit').columns(['actor', 'at']).execute();

    await db.schema
      .createTable('components')
      .addColumn('component_id', 'text', (col) => col.primaryKey())
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('device_id', 'text', (col) => col.notNull())
      .addColumn('family', 'text', (col) => col.notNull())
      .addColumn('class_code', 'text', (col) => col.notNull())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('grid_cell', 'text')
      .addColumn('address', 'text')
      .addColumn('latitude', 'double precision')
      .addColumn('longitude', 'double precision')
      .addColumn('competent_department', 'text', (col) => col.notNull())
      .addColumn('owner_unit', 'text', (col) => col.notNull())
      .addColumn('maintenance_unit', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addUniqueConstraint('components_device_unique', ['gateway_id', 'device_id'])
      .execute();

    await db.schema
      .createTable('cases')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('case_no', 'text', (col) => col.notNull().unique())
      .addColumn('state', 'text', (col) => col.notNull())
      .addColumn('suspended', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('suspended_at', 'text')
      .addColumn('category', 'text', (col) => col.notNull())
      .addColumn('severity', 'text', (col) => col.notNull())
      .addColumn('rule_id', 'text')
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('device_id', 'text', (col) => col.notNull())
      .addColumn('alarm_key', 'text', (col) => col.notNull())
      .addColumn('open_alarm_key', 'text')
      .addColumn('condition', 'text', (col) => col.notNull())
      .addColumn('component_id', 'text')
      .addColumn('grid_cell', 'text')
      .addColumn('location', 'text')
      .addColumn('competent_department', 'text')
      .addColumn('owner_unit', 'text')
      .addColumn('maintenance_unit', 'text')
      .addColumn('evidence', 'text', (col) => col.notNull())
      .addColumn('max_level', 'integer', (col) => col.notNull())
      .addColumn('activations', 'integer', (col) => col.notNull())
      .addColumn('alarm_active', 'integer', (col) => col.notNull())
      .addColumn('alarm_normal_since', 'text')
      .addColumn('sensor_verified_at', 'text')
      .addColumn('reported_at', 'text', (col) => col.notNull())
      .addColumn('filed_at', 'text')
      .addColumn('dispatched_at', 'text')
      .addColumn('accepted_at', 'text')
      .addColumn('feedback_at', 'text')
      .addColumn('closed_at', 'text')
      .addColumn('cancelled_at', 'text')
      .addColumn('dispatch_deadline', 'text', (col) => col.notNull())
      .addColumn('handle_deadline', 'text')
      .addColumn('rework_count', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('escalation_level', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('closed_on_time', 'integer')
      .addColumn('revision', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('updated_at', 'text', (col) => col.notNull())
      // At most one open case per alarm, also with two instances filing at once (PostgreSQL):
      // open_alarm_key is the alarm key while the case is open and NULL once closed or cancelled,
      // and NULLs never collide in a unique constraint (SQL standard; SQLite and PostgreSQL agree).
      .addUniqueConstraint('cases_one_open_per_alarm', ['gateway_id', 'open_alarm_key'])
      .execute();
    // Filing looks up the open case of an alarm on every activation.
    await db.schema
      .createIndex('cases_alarm_idx')
      .on('cases')
      .columns(['gateway_id', 'alarm_key', 'state'])
      .execute();
    await db.schema.createIndex('cases_state_idx').on('cases').columns(['state', 'reported_at']).execute();
    await db.schema.createIndex('cases_owner_idx').on('cases').columns(['owner_unit', 'state']).execute();

    await db.schema
      .createTable('case_history')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('case_id', 'text', (col) => col.notNull())
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('role', 'text')
      .addColumn('action', 'text', (col) => col.notNull())
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text')
      .addColumn('note', 'text')
      .addColumn('detail', 'text')
      .execute();
    await db.schema
      .createIndex('case_history_case_idx')
      .on('case_history')
      .columns(['case_id', 'at'])
      .execute();

    await db.schema
      .createTable('case_activations')
      .addColumn('event_id', 'text', (col) => col.primaryKey())
      .addColumn('case_id', 'text', (col) => col.notNull())
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('level', 'integer', (col) => col.notNull())
      .addColumn('value', 'text')
      .execute();
    await db.schema
      .createIndex('case_activations_case_idx')
      .on('case_activations')
      .columns(['case_id', 'at'])
      .execute();

    await db.schema
      .createTable('operators')
      .addColumn('username', 'text', (col) => col.primaryKey())
      .addColumn('display_name', 'text', (col) => col.notNull())
      .addColumn('password_hash', 'text', (col) => col.notNull())
      .addColumn('roles', 'text', (col) => col.notNull())
      .addColumn('unit', 'text')
      .addColumn('disabled', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('token_hash', 'text', (col) => col.primaryKey())
      .addColumn('username', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'text', (col) => col.notNull())
      .addColumn('last_seen_at', 'text', (col) => col.notNull())
      .addColumn('revoked', 'integer', (col) => col.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('sessions_user_idx').on('sessions').columns(['username']).execute();

    await db.schema
      .createTable('commands')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('action', 'text', (col) => col.notNull())
      .addColumn('target', 'text', (col) => col.notNull())
      .addColumn('params', 'text', (col) => col.notNull())
      .addColumn('issued_at', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'text', (col) => col.notNull())
      .addColumn('issued_by', 'text', (col) => col.notNull())
      .addColumn('case_id', 'text')
      .addColumn('status', 'text', (col) => col.notNull())
      .addColumn('published_at', 'text')
      .addColumn('publish_count', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('result_at', 'text')
      .addColumn('error', 'text')
      .addColumn('result_event_id', 'text')
      .execute();
    await db.schema
      .createIndex('commands_gateway_idx')
      .on('commands')
      .columns(['gateway_id', 'status'])
      .execute();

    await db.schema
      .createTable('config_versions')
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('version', 'bigint', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull())
      .addColumn('document', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('note', 'text')
      .addColumn('restores_version', 'bigint')
      .addColumn('status', 'text', (col) => col.notNull())
      .addColumn('result_at', 'text')
      .addColumn('errors', 'text')
      .addPrimaryKeyConstraint('config_versions_pk', ['gateway_id', 'version'])
      .execute();

    await db.schema
      .createTable('config_overrides')
      .addColumn('event_id', 'text', (col) => col.primaryKey())
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('pointer', 'text', (col) => col.notNull())
      .addColumn('action', 'text', (col) => col.notNull())
      .addColumn('value', 'text')
      .addColumn('previous', 'text')
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('reason', 'text')
      .addColumn('ts', 'text', (col) => col.notNull())
      .addColumn('received_at', 'text', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('config_overrides_gateway_idx')
      .on('config_overrides')
      .columns(['gateway_id', 'received_at'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      'config_overrides',
      'config_versions',
      'commands',
      'sessions',
      'operators',
      'case_activations',
      'case_history',
      'cases',
      'components',
    ]) {
      await db.schema.dropTable(table).execute();
    }
    await db.schema.dropIndex('admin_audit_actor_idx').execute();
    await db.schema.alterTable('admin_audit').dropColumn('source').execute();
    await db.schema.alterTable('admin_audit').dropColumn('outcome').execute();
    await db.schema.dropIndex('events_device_idx').execute();
    await db.schema.alterTable('events').dropColumn('device_id').execute();
  },
};
