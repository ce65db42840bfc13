// The audit log: every state-changing call with who made it, newest first, paged,
// narrowed by who, what (an action, or a family of them: "job.") and on what.

import { useEffect, useRef, useState } from 'preact/hooks';
import { type AuditEntry, type AuditFilter, audit, exportUrl } from '../../api/endpoints.ts';
import { DownloadLink } from '../../components/download-link.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { Field } from '../../components/field.tsx';
import { markFieldError } from '../../lib/field-error.ts';
import { timestamp } from '../../lib/format.ts';
import { useAsync } from '../../lib/hooks.ts';

const PAGE = 100;

/** The form's boxes as a filter: empty boxes filter nothing. */
function filterOf(actor: string, action: string, target: string): AuditFilter {
  return {
    ...(actor.trim() ? { actor: actor.trim() } : {}),
    ...(action.trim() ? { action: action.trim() } : {}),
    ...(target.trim() ? { target: target.trim() } : {}),
  };
}

export function AuditLog() {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [target, setTarget] = useState('');
  const [filter, setFilter] = useState<AuditFilter>({});
  const form = useRef<HTMLFormElement>(null);
  const first = useAsync(() => audit.list(undefined, PAGE, filter), [filter]);
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  // After a refusal the list shown would not be what the filter says: none then.
  const entries = first.error === undefined ? [...(first.data?.entries ?? []), ...older] : [];
  const last = entries[entries.length - 1];
  // A refused filter marks its box (the hub names the field).
  useEffect(() => markFieldError(form.current, first.error), [first.error]);
  const filtered = Object.keys(filter).length > 0;
  return (
    <section aria-label="Audit log">
      <form
        class="row"
        style={{ alignItems: 'flex-end', marginBottom: '8px' }}
        aria-label="Filter the audit log"
        ref={form}
        onSubmit={(e) => {
          e.preventDefault();
          setOlder([]);
          setMore(true);
          setError(undefined);
          const next = filterOf(actor, action, target);
          if (JSON.stringify(next) === JSON.stringify(filter)) first.reload();
          else setFilter(next);
        }}
      >
        <Field label="Who">
          {(a) => <input {...a} name="actor" size={14} value={actor} onInput={(e) => setActor(e.currentTarget.value)} />}
        </Field>
        <Field label="Action">
          {(a) => (
            <input
              {...a}
              name="action"
              size={16}
              placeholder="job. or job.create"
              title="an action (job.create), or every action starting so (job.)"
              value={action}
              onInput={(e) => setAction(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Target">
          {(a) => <input {...a} name="target" size={16} value={target} onInput={(e) => setTarget(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="btn small">
          Filter
        </button>
      </form>
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
      {first.data !== undefined && entries.length === 0 ? (
        <p class="muted" data-testid="audit-none">
          {filtered ? 'No entry matches this filter.' : 'No entries yet.'}
        </p>
      ) : null}
      {more && last !== undefined && entries.length >= PAGE ? (
        <p>
          <button
            type="button"
            class="btn"
            onClick={async () => {
              try {
                const r = await audit.list(last.id, PAGE, filter);
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
