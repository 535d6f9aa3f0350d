/**
 * The current hash route as a signal (docs/ui.md, "Routing"); parsing is in route.ts.
 */
import { signal, type Signal } from '@preact/signals';
import { parseHash, type Route } from './route.js';

export interface Router {
  route: Signal<Route>;
  navigate(hash: string): void;
}

/** Follows location.hash; `patterns` in match order, `fallback` for an empty hash. */
export function createRouter(patterns: readonly string[], fallback: string): Router {
  const read = (): Route => parseHash(window.location.hash, patterns, fallback);
  const route = signal(read());
  window.addEventListener('hashchange', () => {
    route.value = read();
    // A new page starts at its top, like a page load would.
    window.scrollTo(0, 0);
  });
  return {
    route,
    navigate(hash: string) {
      if (window.location.hash === hash) route.value = read();
      else window.location.hash = hash;
    },
  };
}
