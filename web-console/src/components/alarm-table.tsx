// Alarms as a table: severity (word and colour), device, rule, what happened, state
// with who acknowledged and when, raised and cleared times; operators acknowledge or
// clear a row, with an optional note, in place. On a phone each row stacks as a card of
// labelled lines (`stack-narrow`), so State and the buttons need no sideways scroll.

import type { AlarmInfo } from '@halyard/firmware-protocol';
import { useEffect, useRef, useState } from 'preact/hooks';
import { alarms as alarmsApi } from '../api/endpoints.ts';
import { SEVERITY_TONE } from '../lib/alarms.ts';
import { timestamp } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';
import { useCan } from '../state/app-context.ts';
import { ErrorText } from './error-text.tsx';

export function AlarmTable({
  alarms,
  showDevice,
  onChanged,
}: {
  alarms: readonly AlarmInfo[];
  showDevice: boolean;
  onChanged: (a: AlarmInfo) => void;
}) {
  const canAct = useCan('operator');
  return (
    <div class="scroll-x">
      <table class="list stack-narrow" aria-label="Alarms, newest first">
        <thead>
          <tr>
            <th>Severity</th>
            {showDevice ? <th>Device</th> : null}
            <th>Rule</th>
            <th>What</th>
            <th>State</th>
            <th>Raised</th>
            <th class="hide-narrow">Cleared</th>
            {canAct ? <th>Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {alarms.map((a) => (
            <AlarmRow key={a.id} a={a} showDevice={showDevice} canAct={canAct} onChanged={onChanged} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AlarmRow({
  a,
  showDevice,
  canAct,
  onChanged,
}: {
  a: AlarmInfo;
  showDevice: boolean;
  canAct: boolean;
  onChanged: (a: AlarmInfo) => void;
}) {
  const [action, setAction] = useState<'acknowledge' | 'clear' | undefined>(undefined);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  // Opened by the operator's click or key: the note box takes the focus; closing gives it back to the row's buttons.
  const noteBox = useRef<HTMLInputElement>(null);
  const buttons = useRef<HTMLSpanElement>(null);
  const opened = useRef(false);
  // Dependencies: runs when the form opens or closes
  useEffect(() => {
    if (action !== undefined) noteBox.current?.focus();
    else if (opened.current) buttons.current?.querySelector('button')?.focus();
    opened.current = action !== undefined;
  }, [action]);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (action === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      onChanged(await (action === 'acknowledge' ? alarmsApi.acknowledge(a.id, note) : alarmsApi.clear(a.id, note)));
      setAction(undefined);
      setNote('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-alarm={a.id} data-state={a.state} data-device={a.device}>
      <td data-label="Severity">
        <span class={`badge tone-${a.state === 'cleared' ? 'neutral' : SEVERITY_TONE[a.severity]}`}>{a.severity}</span>
      </td>
      {showDevice ? (
        <td class="mono nowrap" data-label="Device">
          <Link href={`/devices/${encodeURIComponent(a.device)}/alarms`}>{a.device}</Link>
        </td>
      ) : null}
      <td data-label="Rule">{a.ruleName}</td>
      <td data-label="What">
        {a.message}
        {a.flaps > 0 ? <span class="muted"> · {a.flaps} flaps</span> : null}
      </td>
      <td class="alarm-state" data-label="State">
        {a.state}
        {a.acknowledgedBy ? (
          <div class="muted">
            by {a.acknowledgedBy}
            {a.note ? `: ${a.note}` : ''}
          </div>
        ) : null}
        {a.state === 'cleared' && a.clearedBy ? <div class="muted">cleared by {a.clearedBy}</div> : null}
      </td>
      <td class="mono nowrap" data-label="Raised">
        {timestamp(a.raisedAt)}
      </td>
      <td class="mono nowrap hide-narrow">{a.clearedAt === null ? '–' : timestamp(a.clearedAt)}</td>
      {canAct ? (
        <td data-label="Actions">
          {action === undefined ? (
            <span class="row" ref={buttons}>
              {a.state === 'active' ? (
                <button type="button" class="btn small" onClick={() => setAction('acknowledge')}>
                  Acknowledge
                </button>
              ) : null}
              {a.state !== 'cleared' ? (
                <button type="button" class="btn small" onClick={() => setAction('clear')}>
                  Clear
                </button>
              ) : null}
            </span>
          ) : (
            <form
              class="row"
              onSubmit={submit}
              aria-label={`${action === 'acknowledge' ? 'Acknowledge' : 'Clear'} alarm ${a.ruleName} on ${a.device}`}
              onKeyDown={(e) => {
                if (e.key === 'Escape') setAction(undefined);
              }}
            >
              <input
                ref={noteBox}
                type="text"
                placeholder="Note (optional)"
                aria-label="Note"
                value={note}
                maxLength={1000}
                onInput={(e) => setNote(e.currentTarget.value)}
              />
              <button type="submit" class="btn small primary" disabled={busy}>
                {action === 'acknowledge' ? 'Acknowledge' : 'Clear'}
              </button>
              <button type="button" class="btn small" onClick={() => setAction(undefined)}>
                Cancel
              </button>
            </form>
          )}
          <ErrorText error={error} />
        </td>
      ) : null}
    </tr>
  );
}
