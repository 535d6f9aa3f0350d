/**
 * Pages loaded on first visit (docs/ui.md, "Bundle"): the chart library and the rarely used
 * pages stay out of the first download, so the overview paints sooner on a slow cabinet link.
 *
 * A page's chunk can also be asked for before the page is shown (preloadPage): the app starts
 * the current route's chunk as its script starts, beside the session probe, instead of after the
 * session is known (docs/performance.md, "Cabinet web UI"). Both share one import().
 */
import type { ComponentType, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../kit/components.js';
import { t } from './i18n.js';

type Loader = () => Promise<{ default: ComponentType }>;

/** The preload of each lazy page component; other components have none. */
const preloaders = new WeakMap<ComponentType, () => void>();

/** Starts downloading a lazy page's chunk now; does nothing for a page that is not lazy. */
export function preloadPage(page: ComponentType): void {
  preloaders.get(page)?.();
}

export function lazyPage(load: Loader): ComponentType {
  let loaded: ComponentType | null = null;
  let pending: Promise<ComponentType> | null = null;

  /** The one import() in flight or done; a failed one is forgotten so a later visit tries again. */
  function start(): Promise<ComponentType> {
    pending ??= load().then(
      (module) => {
        loaded = module.default;
        return module.default;
      },
      (failure: unknown) => {
        pending = null;
        throw failure;
      },
    );
    return pending;
  }

  function LazyPage(): JSX.Element {
    // An initialiser function, not `loaded` itself: useState calls a function it is given, and
    // the page component is one (a second visit would render its output as a component type).
    const [page, setPage] = useState<ComponentType | null>(() => loaded);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      // `page`, not `loaded`: a preload may have finished between this render and this effect.
      if (page !== null) return;
      start().then(
        (component) => setPage(() => component),
        (failure: unknown) => setError(failure),
      );
    }, []);
    if (error !== null) return <ErrorNotice error={error} onRetry={() => window.location.reload()} />;
    if (page === null) return <p class="muted">{t('layout.loading')}</p>;
    const Page = page;
    return <Page />;
  }

  preloaders.set(LazyPage, () => {
    // A failure here is shown when the page mounts (its own start() fails again); not here.
    start().catch(() => undefined);
  });
  return LazyPage;
}
