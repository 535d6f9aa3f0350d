/**
 * The page frame every web UI shares: a header (site name, live state, language switch, user and
 * sign-out) and the navigation, which on a desktop is a row of tabs and at phone width (<= 720 px)
 * folds into a menu button with full-width, 44 px touch targets (WCAG 2.5.5).
 */
import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { WebRole } from '../../gateway/web/api-types.js';
import { kt, lang, setLang } from './i18n.js';
import { liveState } from './live.js';

export interface NavItem {
  id: string;
  href: string;
  label: string;
}

const LIVE_KEYS = {
  open: 'layout.live.open',
  connecting: 'layout.live.connecting',
  closed: 'layout.live.closed',
} as const;

export function LangSwitch(): JSX.Element {
  return (
    <button
      type="button"
      data-testid="lang-switch"
      lang={lang.value === 'zh-CN' ? 'en' : 'zh-CN'}
      aria-label={kt('layout.langSwitchLabel')}
      onClick={() => setLang(lang.value === 'zh-CN' ? 'en' : 'zh-CN')}
    >
      {kt('layout.langSwitch')}
    </button>
  );
}

export function Shell(props: {
  title: string;
  subtitle: string;
  user: { username: string; role: WebRole } | null;
  nav: readonly NavItem[];
  activeNav: string | null;
  onLogout?: () => void;
  children: ComponentChildren;
}): JSX.Element {
  const [menuOpen, setMenuOpen] = useState(false);
  return (
    <>
      <a class="skip" href="#main">
        {kt('layout.skip')}
      </a>
      <header class="app-header">
        {props.nav.length > 0 && (
          <button
            type="button"
            class="nav-toggle"
            aria-expanded={menuOpen}
            aria-controls="app-nav"
            data-testid="nav-menu"
            onClick={() => setMenuOpen(!menuOpen)}
          >
            {kt('layout.menu')}
          </button>
        )}
        <div class="site">
          <strong data-testid="site-name">{props.title}</strong>
          <span>{props.subtitle}</span>
        </div>
        {props.user !== null && (
          <span class={`live ${liveState.value}`} data-testid="live-state" data-live={liveState.value}>
            {kt(LIVE_KEYS[liveState.value])}
          </span>
        )}
        <LangSwitch />
        {props.user !== null && (
          <div class="user" data-testid="user-menu">
            <div class="name">
              {props.user.username}
              <br />
              <span class="small">
                {kt(props.user.role === 'admin' ? 'layout.role.admin' : 'layout.role.technician')}
              </span>
            </div>
          </div>
        )}
        {props.user !== null && props.onLogout !== undefined && (
          <button type="button" class="logout" data-testid="logout" onClick={props.onLogout}>
            {kt('layout.logout')}
          </button>
        )}
      </header>
      {props.nav.length > 0 && (
        <nav id="app-nav" class={`app-nav${menuOpen ? ' open' : ''}`}>
          {props.nav.map((item) => (
            <a
              key={item.id}
              href={item.href}
              data-testid={`nav-${item.id}`}
              aria-current={props.activeNav === item.id ? 'page' : undefined}
              onClick={() => setMenuOpen(false)}
            >
              {item.label}
            </a>
          ))}
          {props.user !== null && props.onLogout !== undefined && (
            // At phone width the header has no room: the user and sign-out live at the menu's end.
            <button type="button" class="nav-logout" data-testid="nav-logout" onClick={props.onLogout}>
              {kt('layout.logout')} ({props.user.username})
            </button>
          )}
        </nav>
      )}
      <main id="main">{props.children}</main>
    </>
  );
}
