/**
 * Users (admins only; the server refuses anyone else): the cabinet's local accounts. Add one,
 * change a role, disable or enable, set a new password. Every change is confirmed first and
 * shows the server's answer.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type {
  WebRole,
  WebUserCreateRequest,
  WebUserList,
  WebUserUpdateRequest,
  WebUserView,
} from '../../../gateway/web/api-types.js';
import { api, path } from '../../kit/api.js';
import { Async, Card, DataTable, DateTime, Field, useResource, type Column } from '../../kit/components.js';
import { ConfirmDialog } from '../../kit/confirm.js';
import { USERNAME, useNewPassword } from '../common.js';
import { t } from '../i18n.js';
import { session, timeZone } from '../state.js';

const ROLES: readonly WebRole[] = ['technician', 'admin'];
const ROLE_KEYS = { technician: 'layout.role.technician', admin: 'layout.role.admin' } as const;

type Edit =
  | { kind: 'add' }
  | { kind: 'role'; user: WebUserView; role: WebRole }
  | { kind: 'disable'; user: WebUserView; disabled: boolean }
  | { kind: 'password'; user: WebUserView };

export default function UsersPage(): JSX.Element {
  const users = useResource((signal) => api.get<WebUserList>('/api/users', { signal }), []);
  const [edit, setEdit] = useState<Edit | null>(null);
  const tz = timeZone();
  const me = session.value?.username;
  const columns: Column<WebUserView>[] = [
    { label: t('users.username'), cell: (u) => <strong>{u.username}</strong> },
    {
      label: t('users.role'),
      cell: (u) => (
        <RoleSelect
          value={u.role}
          disabled={u.username === me}
          testid={`user-role-${u.username}`}
          onChange={(role) => setEdit({ kind: 'role', user: u, role })}
        />
      ),
    },
    {
      label: t('state.label'),
      cell: (u) => (
        <span class={`tag ${u.disabled ? 'bad' : 'ok'}`}>
          {t(u.disabled ? 'users.disabled' : 'users.enabled')}
        </span>
      ),
    },
    { label: t('users.created'), cell: (u) => <DateTime wallMs={u.createdWallMs} timeZone={tz} /> },
    { label: t('users.lastLogin'), cell: (u) => <DateTime wallMs={u.lastLoginWallMs} timeZone={tz} /> },
    {
      label: t('users.actions'),
      cell: (u) => (
        <span class="actions">
          <button
            type="button"
            disabled={u.username === me}
            data-testid={`user-${u.disabled ? 'enable' : 'disable'}-${u.username}`}
            onClick={() => setEdit({ kind: 'disable', user: u, disabled: !u.disabled })}
          >
            {t(u.disabled ? 'users.enable' : 'users.disable')}
          </button>
          <button
            type="button"
            data-testid={`user-password-${u.username}`}
            onClick={() => setEdit({ kind: 'password', user: u })}
          >
            {t('users.resetPassword')}
          </button>
        </span>
      ),
    },
  ];
  return (
    <div data-testid="page-users">
      <h1>{t('users.title')}</h1>
      <Card
        aside={
          <button
            type="button"
            class="primary"
            data-testid="user-add"
            onClick={() => setEdit({ kind: 'add' })}
          >
            {t('users.add')}
          </button>
        }
      >
        <Async resource={users}>
          {(data) => (
            <DataTable
              testid="user-table"
              columns={columns}
              rows={data.users}
              rowKey={(u) => u.username}
              row={(u) => ({ testid: `user-${u.username}`, class: u.disabled ? 'greyed' : '' })}
            />
          )}
        </Async>
      </Card>
      {edit !== null && (
        <UserDialog
          edit={edit}
          onClose={(succeeded) => {
            setEdit(null);
            if (succeeded) users.reload(true);
          }}
        />
      )}
    </div>
  );
}

/**
 * A role picker. In the table a change is only asked for: the select shows the role in force
 * until the confirmed change reloads the list.
 */
function RoleSelect(props: {
  value: WebRole;
  testid: string;
  disabled?: boolean;
  onChange: (role: WebRole) => void;
}): JSX.Element {
  return (
    <select
      value={props.value}
      disabled={props.disabled}
      data-testid={props.testid}
      aria-label={t('users.role')}
      onChange={(e) => {
        const role = e.currentTarget.value as WebRole;
        e.currentTarget.value = props.value;
        props.onChange(role);
      }}
    >
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {t(ROLE_KEYS[r])}
        </option>
      ))}
    </select>
  );
}

function UserDialog(props: { edit: Edit; onClose: (succeeded: boolean) => void }): JSX.Element {
  const { edit } = props;
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<WebRole>('technician');
  const needsPassword = edit.kind === 'add' || edit.kind === 'password';
  const usernameValid = edit.kind !== 'add' || USERNAME.test(username);
  const owner = edit.kind === 'add' ? username : edit.kind === 'password' ? edit.user.username : '';
  const newPassword = useNewPassword(owner);
  const { password } = newPassword;
  const canConfirm = usernameValid && (!needsPassword || newPassword.ok);

  let what: string;
  switch (edit.kind) {
    case 'add':
      what = t('users.addWhat', { username: username === '' ? '…' : username, role: t(ROLE_KEYS[role]) });
      break;
    case 'role':
      what = t('users.roleWhat', { username: edit.user.username, role: t(ROLE_KEYS[edit.role]) });
      break;
    case 'disable':
      what = t(edit.disabled ? 'users.disableWhat' : 'users.enableWhat', { username: edit.user.username });
      break;
    case 'password':
      what = t('users.passwordWhat', { username: edit.user.username });
      break;
  }

  return (
    <ConfirmDialog
      testid="user-dialog"
      title={t(edit.kind === 'add' ? 'users.add' : 'users.change')}
      what={what}
      canConfirm={canConfirm}
      danger={edit.kind === 'disable' && edit.disabled}
      onClose={props.onClose}
      onConfirm={async () => {
        if (edit.kind === 'add') {
          const body: WebUserCreateRequest = { username, role, password };
          await api.post<unknown>('/api/users', body);
          return null;
        }
        const body: WebUserUpdateRequest =
          edit.kind === 'role'
            ? { role: edit.role }
            : edit.kind === 'disable'
              ? { disabled: edit.disabled }
              : { password };
        await api.patch<unknown>(path`/api/users/${edit.user.username}`, body);
        return null;
      }}
    >
      {edit.kind === 'add' && (
        <>
          <Field
            label={t('users.username')}
            hint={t('users.usernameHint')}
            error={username !== '' && !usernameValid ? t('users.usernameHint') : null}
          >
            <input
              type="text"
              autocomplete="off"
              value={username}
              data-testid="user-username"
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </Field>
          <Field label={t('users.role')}>
            <RoleSelect value={role} testid="user-role" onChange={setRole} />
          </Field>
        </>
      )}
      {needsPassword && newPassword.fields('user')}
    </ConfirmDialog>
  );
}
