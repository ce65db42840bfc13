// The audit log: every state-changing call with who made it, newest first, paged.

import { useState } from 'preact/hooks';
import { type AuditEntry, audit, exportUrl } from '../../api/endpoints.ts';
import { DownloadLink } from '../../components/download-link.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { timestamp } from '../../lib/format.ts';
import { useAsync } from '../../lib/hooks.ts';

const PAGE = 100;

export function AuditLog() {
  const first = useAsync(() => audit.list(undefined, PAGE), []);
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  const entries = [...(first.data?.entries ?? []), ...older];
  const last = entries[entries.length - 1];
  return (
    <section aria-label="Audit log">
      <div class="row" style={{ marginBottom: '8px' }}>
        <button
          type="button"
          class="btn small"
          onClick={() => {
            setOlder([]);
            setMore(true);
            first.reload();
          }}
        >
          Refresh
        </button>
        <DownloadLink href={exportUrl('/export/audit')} />
      </div>
      <ErrorText error={first.error ?? error} />
      <div class="scroll-x">
        <table class="list">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Target</th>
              <th class="hide-narrow">Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td class="mono">{timestamp(e.at)}</td>
                <td>{e.actor}</td>
                <td class="mono">{e.action}</td>
                <td class="mono">{e.target ?? ''}</td>
                <td class="data hide-narrow">{e.detail === null || e.detail === undefined ? '' : JSON.stringify(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more && last !== undefined && entries.length >= PAGE ? (
        <p>
          <button
            type="button"
            class="btn"
            onClick={async () => {
              try {
                const r = await audit.list(last.id, PAGE);
                setOlder((o) => [...o, ...r.entries]);
                if (r.entries.length < PAGE) setMore(false);
              } catch (err) {
                setError(err);
              }
            }}
          >
            Older entries
          </button>
        </p>
      ) : null}
    </section>
  );
}
