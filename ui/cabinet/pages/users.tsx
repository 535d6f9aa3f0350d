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
import { Async, Card, DateTime, Field, useResource } from '../../kit/components.js';
import { ConfirmDialog } from '../../kit/confirm.js';
import { passwordProblem, USERNAME } from '../common.js';
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
            <div class="table-wrap">
              <table class="data cards" data-testid="user-table">
                <thead>
                  <tr>
                    <th>{t('users.username')}</th>
                    <th>{t('users.role')}</th>
                    <th>{t('state.label')}</th>
                    <th>{t('users.created')}</th>
                    <th>{t('users.lastLogin')}</th>
                    <th>{t('users.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.users.map((u) => (
                    <tr
                      key={u.username}
                      class={u.disabled ? 'greyed' : ''}
                      data-testid={`user-${u.username}`}
                    >
                      <td data-label={t('users.username')}>
                        <strong>{u.username}</strong>
                      </td>
                      <td data-label={t('users.role')}>
                        <select
                          value={u.role}
                          disabled={u.username === me}
                          data-testid={`user-role-${u.username}`}
                          aria-label={t('users.role')}
                          onChange={(e) => {
                            const role = e.currentTarget.value as WebRole;
                            e.currentTarget.value = u.role;
                            setEdit({ kind: 'role', user: u, role });
                          }}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {t(ROLE_KEYS[r])}
                            </option>
                          ))}
                        </select>
                      </td>
                      <td data-label={t('state.label')}>
                        <span class={`tag ${u.disabled ? 'bad' : 'ok'}`}>
                          {t(u.disabled ? 'users.disabled' : 'users.enabled')}
                        </span>
                      </td>
                      <td data-label={t('users.created')}>
                        <DateTime wallMs={u.createdWallMs} timeZone={tz} />
                      </td>
                      <td data-label={t('users.lastLogin')}>
                        <DateTime wallMs={u.lastLoginWallMs} timeZone={tz} />
                      </td>
                      <td data-label={t('users.actions')}>
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
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
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

function UserDialog(props: { edit: Edit; onClose: (succeeded: boolean) => void }): JSX.Element {
  const { edit } = props;
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<WebRole>('technician');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const needsPassword = edit.kind === 'add' || edit.kind === 'password';
  const repeatError =
    needsPassword && repeat !== '' && repeat !== password ? t('users.passwordsDiffer') : null;
  const usernameValid = edit.kind !== 'add' || USERNAME.test(username);
  const owner = edit.kind === 'add' ? username : edit.kind === 'password' ? edit.user.username : '';
  const passwordError = needsPassword && password !== '' ? passwordProblem(password, owner) : null;
  const canConfirm =
    usernameValid && (!needsPassword || (password !== '' && passwordError === null && password === repeat));

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
            <select
              value={role}
              data-testid="user-role"
              onChange={(e) => setRole(e.currentTarget.value as WebRole)}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(ROLE_KEYS[r])}
                </option>
              ))}
            </select>
          </Field>
        </>
      )}
      {needsPassword && (
        <>
          <Field label={t('users.newPassword')} hint={t('users.passwordHint')} error={passwordError}>
            <input
              type="password"
              autocomplete="new-password"
              value={password}
              aria-invalid={passwordError !== null}
              data-testid="user-password"
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </Field>
          <Field label={t('users.repeatPassword')} error={repeatError}>
            <input
              type="password"
              autocomplete="new-password"
              value={repeat}
              data-testid="user-password-repeat"
              onInput={(e) => setRepeat(e.currentTarget.value)}
            />
          </Field>
        </>
      )}
    </ConfirmDialog>
  );
}
