/**
 * Audit (issue 13, part 4; admins only, the server enforces it): who did what, when, to what, from
 * which address, newest first, one page at a time (keyset paging by id, so a page never shifts
 * while new actions are recorded).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { AuditEntry, AuditPage as AuditPageData } from '../../../gateway/web/api-types.js';
import { api } from '../../kit/api.js';
import { Async, Card, DateTime, ErrorNotice, useResource } from '../../kit/components.js';
import { t } from '../i18n.js';
import { timeZone } from '../state.js';

const PAGE_SIZE = 50;

export default function AuditPage(): JSX.Element {
  const first = useResource(
    (signal) => api.get<AuditPageData>(`/api/audit?limit=${PAGE_SIZE}`, { signal }),
    [],
  );
  return (
    <div data-testid="page-audit">
      <h1>{t('audit.title')}</h1>
      <Card>
        <Async resource={first}>
          {(data) => (
            <AuditTable key={data.entries[0]?.id ?? 0} first={data} onRefresh={() => first.reload()} />
          )}
        </Async>
      </Card>
    </div>
  );
}

function detailText(detail: Record<string, unknown>): string {
  // The address has its own column (AuditEntry.address comes from the detail's `address`).
  const entries = Object.entries(detail).filter(([k]) => k !== 'address');
  if (entries.length === 0) return '';
  return entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
}

function AuditTable(props: { first: AuditPageData; onRefresh: () => void }): JSX.Element {
  const [entries, setEntries] = useState<AuditEntry[]>(props.first.entries);
  const [next, setNext] = useState<number | null>(props.first.nextBeforeId);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const tz = timeZone();

  const more = (): void => {
    if (next === null) return;
    setLoading(true);
    api.get<AuditPageData>(`/api/audit?limit=${PAGE_SIZE}&beforeId=${next}`).then(
      (page) => {
        setEntries([...entries, ...page.entries]);
        setNext(page.nextBeforeId);
        setLoading(false);
        setError(null);
      },
      (failure: unknown) => {
        setError(failure);
        setLoading(false);
      },
    );
  };

  return (
    <>
      <div class="actions">
        <button type="button" onClick={props.onRefresh} data-testid="audit-refresh">
          {t('audit.refresh')}
        </button>
      </div>
      {entries.length === 0 ? (
        <p class="muted">{t('layout.empty')}</p>
      ) : (
        <div class="table-wrap">
          <table class="data cards" data-testid="audit-table">
            <thead>
              <tr>
                <th>{t('history.when')}</th>
                <th>{t('audit.actor')}</th>
                <th>{t('audit.action')}</th>
                <th>{t('audit.target')}</th>
                <th>{t('audit.address')}</th>
                <th>{t('audit.detail')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-testid={`audit-${e.id}`} data-action={e.action}>
                  <td data-label={t('history.when')}>
                    <DateTime wallMs={e.wallMs} timeZone={tz} />
                  </td>
                  <td data-label={t('audit.actor')}>{e.actor}</td>
                  <td data-label={t('audit.action')} class="mono">
                    {e.action}
                  </td>
                  <td data-label={t('audit.target')} class="mono wrap-anywhere">
                    {e.target}
                  </td>
                  <td data-label={t('audit.address')} class="mono">
                    {e.address ?? t('value.none')}
                  </td>
                  <td data-label={t('audit.detail')} class="small wrap-anywhere">
                    {detailText(e.detail)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {error !== null && <ErrorNotice error={error} onRetry={more} />}
      <div class="actions">
        {next !== null ? (
          <button type="button" onClick={more} disabled={loading} data-testid="audit-more">
            {loading ? t('layout.loading') : t('audit.older')}
          </button>
        ) : (
          entries.length > 0 && <span class="muted small">{t('audit.end')}</span>
        )}
      </div>
    </>
  );
}
