/**
 * Audit (issue 13, part 4; admins only, the server enforces it): who did what, when, to what, from
 * which address, newest first, one page at a time (keyset paging by id, so a page never shifts
 * while new actions are recorded). Actions and details in words (audit-words.ts); the code as
 * written stays in the action's tooltip and in the row's data-action.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { AuditEntry, AuditPage as AuditPageData } from '../../../gateway/web/api-types.js';
import { api } from '../../kit/api.js';
import {
  Async,
  Card,
  DataTable,
  DateTime,
  Disclosure,
  ErrorNotice,
  useResource,
  type Column,
} from '../../kit/components.js';
import { auditActionText, auditDetailItems, type AuditWording } from '../audit-words.js';
import { auditWording } from '../common.js';
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

/** An entry's detail as labelled values; a server's English message behind a disclosure. */
function Detail(props: { entry: AuditEntry; wording: AuditWording }): JSX.Element | null {
  const items = auditDetailItems(props.entry.detail, props.entry.target, props.wording);
  if (items.length === 0) return null;
  const plain = items.filter((item) => !item.serverText);
  const server = items.filter((item) => item.serverText);
  return (
    <>
      {plain.length > 0 && (
        <dl class="pairs">
          {plain.map((item) => (
            <div key={item.key} data-key={item.key}>
              <dt>{item.label}</dt>
              <dd>{item.value}</dd>
            </div>
          ))}
        </dl>
      )}
      {server.map((item) => (
        <Disclosure key={item.key} summary={t('audit.serverText')}>
          <span lang="en">{item.value}</span>
        </Disclosure>
      ))}
    </>
  );
}

function AuditTable(props: { first: AuditPageData; onRefresh: () => void }): JSX.Element {
  const [entries, setEntries] = useState<AuditEntry[]>(props.first.entries);
  const [next, setNext] = useState<number | null>(props.first.nextBeforeId);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const tz = timeZone();
  const words = auditWording();
  // The address keeps its own column (AuditEntry.address comes from the detail's `address`).
  const columns: Column<AuditEntry>[] = [
    { label: t('history.when'), cell: (e) => <DateTime wallMs={e.wallMs} timeZone={tz} /> },
    { label: t('audit.actor'), cell: (e) => e.actor },
    {
      label: t('audit.action'),
      cell: (e) => <span title={e.action}>{auditActionText(e.action, words)}</span>,
    },
    { label: t('audit.target'), class: 'mono wrap-anywhere', cell: (e) => e.target },
    { label: t('audit.address'), class: 'mono', cell: (e) => e.address ?? t('value.none') },
    { label: t('audit.detail'), class: 'small', cell: (e) => <Detail entry={e} wording={words} /> },
  ];

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
      <DataTable
        testid="audit-table"
        columns={columns}
        rows={entries}
        rowKey={(e) => e.id}
        row={(e) => ({ testid: `audit-${e.id}`, data: { 'data-action': e.action } })}
      />
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
