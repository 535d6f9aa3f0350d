/**
 * Sign-in and first-admin setup. No default account exists (issue 13, part 3): until the first
 * admin is made, the gateway prints a one-time link `…/#/setup?token=…` (valid one hour); the
 * token stays in the URL's fragment, which browsers never send to a server.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { LoginRequest, Session, SetupRequest, SetupState } from '../../../gateway/web/api-types.js';
import { api } from '../../kit/api.js';
import { ErrorNotice, Field, useResource } from '../../kit/components.js';
import { USERNAME, useNewPassword } from '../common.js';
import { t } from '../i18n.js';
import { ROUTES, router } from '../state.js';

/** Called with the new session after a successful sign-in. */
export type SignedIn = (session: Session) => void;

export function LoginPage(props: { onSignedIn: SignedIn }): JSX.Element {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const setup = useResource((signal) => api.get<SetupState>('/api/setup', { signal, quiet401: true }), []);

  const submit = (event: Event): void => {
    event.preventDefault();
    if (pending) return;
    setPending(true);
    setError(null);
    const body: LoginRequest = { username: username.trim(), password };
    api
      .post<unknown>('/api/login', body, { quiet401: true })
      .then(() => api.get<Session>('/api/session', { quiet401: true }))
      .then(
        (session) => {
          setPending(false);
          setPassword('');
          props.onSignedIn(session);
        },
        (failure: unknown) => {
          setPending(false);
          setPassword('');
          setError(failure);
        },
      );
  };

  return (
    <div data-testid="page-login" class="narrow">
      <h1>{t('login.title')}</h1>
      {setup.data?.needed === true && (
        <p class="notice warn" data-testid="setup-needed">
          {t('login.setupNeeded')}
        </p>
      )}
      <form class="card stack" onSubmit={submit}>
        <Field label={t('users.username')}>
          <input
            type="text"
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            required
            value={username}
            data-testid="login-username"
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </Field>
        <Field label={t('login.password')}>
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password}
            data-testid="login-password"
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        {error !== null && <ErrorNotice error={error} testid="login-error" />}
        <button
          type="submit"
          class="primary"
          disabled={pending || username.trim() === '' || password === ''}
          data-testid="login-submit"
        >
          {pending ? t('layout.loading') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}

export function SetupPage(props: { onSignedIn: SignedIn }): JSX.Element {
  const token = router.route.value.query['token'] ?? '';
  const [username, setUsername] = useState('');
  const [phase, setPhase] = useState<'form' | 'pending' | 'done'>('form');
  const [error, setError] = useState<unknown>(null);
  const newPassword = useNewPassword(username);
  const { password } = newPassword;
  const valid = token !== '' && USERNAME.test(username) && newPassword.ok;

  const submit = (event: Event): void => {
    event.preventDefault();
    if (!valid || phase === 'pending') return;
    setPhase('pending');
    setError(null);
    const body: SetupRequest = { token, username, password };
    api.post<unknown>('/api/setup', body, { quiet401: true }).then(
      () => {
        setPhase('done');
        // Signed in at once if the server opened a session; otherwise the sign-in page follows.
        api
          .get<Session>('/api/session', { quiet401: true })
          .then(props.onSignedIn, () => router.navigate(`#${ROUTES.login}`));
      },
      (failure: unknown) => {
        setPhase('form');
        setError(failure);
      },
    );
  };

  return (
    <div data-testid="page-setup" class="narrow">
      <h1>{t('setup.title')}</h1>
      <p class="muted">{t('setup.intro')}</p>
      {token === '' ? (
        <p class="notice error" data-testid="setup-no-token">
          {t('setup.noToken')}
        </p>
      ) : (
        <form class="card stack" onSubmit={submit}>
          <Field label={t('users.username')} hint={t('users.usernameHint')}>
            <input
              type="text"
              autocomplete="username"
              autocapitalize="none"
              value={username}
              data-testid="setup-username"
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </Field>
          {newPassword.fields('setup')}
          {error !== null && <ErrorNotice error={error} testid="setup-error" />}
          {phase === 'done' && (
            <p class="notice ok" data-testid="setup-done">
              {t('setup.done')}
            </p>
          )}
          <button
            type="submit"
            class="primary"
            disabled={!valid || phase !== 'form'}
            data-testid="setup-submit"
          >
            {t('setup.submit')}
          </button>
        </form>
      )}
    </div>
  );
}
