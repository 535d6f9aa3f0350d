/**
 * Pages loaded on first visit (docs/ui.md, "Bundle"): the chart library and the rarely used
 * pages stay out of the first download, so the overview paints sooner on a slow cabinet link.
 */
import type { ComponentType, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../kit/components.js';
import { t } from './i18n.js';

type Loader = () => Promise<{ default: ComponentType }>;

export function lazyPage(load: Loader): ComponentType {
  let loaded: ComponentType | null = null;
  return function LazyPage(): JSX.Element {
    // An initialiser function, not `loaded` itself: useState calls a function it is given, and
    // the page component is one (a second visit would render its output as a component type).
    const [page, setPage] = useState<ComponentType | null>(() => loaded);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (loaded !== null) return;
      load().then(
        (module) => {
          loaded = module.default;
          setPage(() => module.default);
        },
        (failure: unknown) => setError(failure),
      );
    }, []);
    if (error !== null) return <ErrorNotice error={error} onRetry={() => window.location.reload()} />;
    if (page === null) return <p class="muted">{t('layout.loading')}</p>;
    const Page = page;
    return <Page />;
  };
}
