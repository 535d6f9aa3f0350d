/**
 * The cabinet web UI (docs/ui.md): the technician's whole visit in a browser. Entry point: loads
 * the session, starts the live stream, routes by the URL's hash, and frames every page.
 */
import { render, type ComponentType, type JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import type { Session } from '../../gateway/web/api-types.js';
import '../kit/base.css';
import { api, setUnauthorizedHandler } from '../kit/api.js';
import { lang, useDictionaries } from '../kit/i18n.js';
import { Shell, type NavItem } from '../kit/layout.js';
import { hrefOf } from '../kit/route.js';
import { t, type CabinetKey } from './i18n.js';
import { CABINET_EN, CABINET_ZH } from './i18n/messages.js';
import { lazyPage, preloadPage } from './lazy.js';
import { AlarmsPage } from './pages/alarms.js';
import { LoginPage, SetupPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { ROUTES, router, session, startLive, stopLive, type PageId } from './state.js';

useDictionaries({ 'zh-CN': CABINET_ZH, en: CABINET_EN });
document.documentElement.lang = lang.value;

const PAGES: Record<PageId, ComponentType> = {
  overview: OverviewPage,
  alarms: AlarmsPage,
  device: lazyPage(() => import('./pages/device.js')),
  lighting: lazyPage(() => import('./pages/lighting.js')),
  bus: lazyPage(() => import('./pages/bus.js')),
  strain: lazyPage(() => import('./pages/strain.js')),
  thresholds: lazyPage(() => import('./pages/thresholds.js')),
  audit: lazyPage(() => import('./pages/audit.js')),
  users: lazyPage(() => import('./pages/users.js')),
  login: () => <LoginPage onSignedIn={signedIn} />,
  setup: () => <SetupPage onSignedIn={signedIn} />,
};

/** The navigation, in the order of a visit; the admin pages only for admins (the server checks too). */
const NAV: ReadonlyArray<{ id: PageId; label: CabinetKey; admin?: true }> = [
  { id: 'overview', label: 'nav.overview' },
  { id: 'alarms', label: 'nav.alarms' },
  { id: 'lighting', label: 'nav.lighting' },
  { id: 'bus', label: 'nav.bus' },
  { id: 'strain', label: 'nav.strain' },
  { id: 'thresholds', label: 'nav.thresholds' },
  { id: 'audit', label: 'nav.audit', admin: true },
  { id: 'users', label: 'nav.users', admin: true },
];

const PUBLIC_PAGES: ReadonlySet<string> = new Set([ROUTES.login, ROUTES.setup]);

function pageOf(pattern: string): PageId | null {
  const entry = Object.entries(ROUTES).find(([, p]) => p === pattern);
  return entry === undefined ? null : (entry[0] as PageId);
}

/** Where to go after signing in: the page asked for (`#/login?next=...`), or the overview. */
function afterLogin(): string {
  const next = router.route.value.query['next'];
  return next !== undefined && next.startsWith('/') && !PUBLIC_PAGES.has(next.split('?')[0] ?? '')
    ? `#${next}`
    : `#${ROUTES.overview}`;
}

function signedIn(next: Session): void {
  session.value = next;
  startLive();
  router.navigate(afterLogin());
}

function toLogin(): void {
  const here = router.route.value;
  const next = PUBLIC_PAGES.has(here.pattern)
    ? ''
    : `?next=${encodeURIComponent(window.location.hash.slice(1))}`;
  router.navigate(`#${ROUTES.login}${next}`);
}

setUnauthorizedHandler(() => {
  session.value = null;
  stopLive();
  toLogin();
});

function logout(): void {
  api.post<unknown>('/api/logout', {}, { quiet401: true }).then(
    () => undefined,
    () => undefined, // Signed out locally either way; the session expires on the server by itself.
  );
  session.value = null;
  stopLive();
  router.navigate(`#${ROUTES.login}`);
}

/**
 * Asks who is signed in as the script starts, not from an effect after the first paint, and
 * starts the current route's page chunk beside it: the two downloads overlap instead of following
 * each other (docs/performance.md, "Cabinet web UI"). The route is the one the page opened on.
 */
function boot(): void {
  const opened = router.route.value;
  api.get<Session>('/api/session', { quiet401: true }).then(
    (s) => {
      session.value = s;
      startLive();
      if (opened.pattern === ROUTES.login) router.navigate(afterLogin());
    },
    () => {
      if (!PUBLIC_PAGES.has(opened.pattern)) toLogin();
    },
  );
  const openedPage = pageOf(opened.pattern);
  if (openedPage !== null) preloadPage(PAGES[openedPage]);
}

function App(): JSX.Element {
  const route = router.route.value;
  const current = session.value;
  const isPublic = PUBLIC_PAGES.has(route.pattern);

  useEffect(() => {
    document.title = current !== null ? `${current.siteName} · ${t('app.title')}` : t('app.title');
  }, [current, lang.value]);

  const pageId = pageOf(route.pattern);
  const Page = pageId !== null ? PAGES[pageId] : null;
  const navItems: NavItem[] =
    current === null || isPublic
      ? []
      : NAV.filter((n) => n.admin !== true || current.role === 'admin').map((n) => ({
          id: n.id,
          href: hrefOf(ROUTES[n.id]),
          label: t(n.label),
        }));
  const activeNav = pageId === 'device' ? 'overview' : pageId;

  let body: JSX.Element;
  if (Page === null) {
    body = (
      <div data-testid="page-not-found">
        <p class="notice">{t('layout.notFound')}</p>
        <a href={hrefOf(ROUTES.overview)}>{t('nav.overview')}</a>
      </div>
    );
  } else if (!isPublic && current === null) {
    body = <p class="muted">{t('layout.loading')}</p>;
  } else {
    body = <Page key={route.path} />;
  }

  return (
    <Shell
      title={current?.siteName ?? t('app.title')}
      subtitle={current !== null ? `${current.gatewayId} · ${current.timeZone}` : t('app.subtitle')}
      user={current !== null && !isPublic ? { username: current.username, role: current.role } : null}
      nav={navItems}
      activeNav={activeNav}
      onLogout={logout}
    >
      {body}
    </Shell>
  );
}

boot();
render(<App />, document.getElementById('app') as HTMLElement);
