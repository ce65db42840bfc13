// Webhooks: URLs the hub tells about alarms and device changes, each delivery signed
// with the webhook's secret (shown once, here, when it is made or replaced), retried,
// and listed in a delivery log. README.md § Alarms and notifications.

import { ALARM_SEVERITIES, type AlarmSeverity, WEBHOOK_EVENTS, type WebhookInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { webhooks } from '../../api/endpoints.ts';
import { TypedConfirm } from '../../components/confirm.tsx';
import { CopyButton } from '../../components/copy-button.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { Field } from '../../components/field.tsx';
import { timestamp } from '../../lib/format.ts';
import { useAsync } from '../../lib/hooks.ts';

type EventName = (typeof WEBHOOK_EVENTS)[number];

const EVENT_LABEL: Record<EventName, string> = {
  alarm: 'Alarms (raised, acknowledged, cleared)',
  'device.online': 'Device online',
  'device.offline': 'Device offline',
  'command.failed': 'Command failed, rejected, timed out or expired',
  'update.finished': 'Firmware update ended (succeeded, failed, rolled back, ...)',
  'job.finished': 'Fleet job ended (completed, cancelled, aborted, timed out)',
};

export function Webhooks() {
  const list = useAsync(() => webhooks.list(), []);
  const [error, setError] = useState<unknown>(undefined);
  const [secret, setSecret] = useState<{ name: string; secret: string } | undefined>(undefined);
  const [deleting, setDeleting] = useState<WebhookInfo | undefined>(undefined);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [tested, setTested] = useState<string | undefined>(undefined);
  const items = list.data?.webhooks ?? [];
  return (
    <section aria-label="Webhooks">
      {secret ? (
        <section class="panel" aria-label="Webhook secret" style={{ maxWidth: '760px', marginBottom: '16px' }}>
          <h2 style={{ marginTop: 0 }}>Signing secret of {secret.name}</h2>
          <p class="notice" role="alert">
            Shown only this once. The receiver checks each delivery's Halyard-Signature header with it (HMAC-SHA256 over the timestamp and
            the body); replace it from this page if it is lost.
          </p>
          <div class="row">
            <code class="block" data-testid="webhook-secret" style={{ padding: '6px 8px', wordBreak: 'break-all' }}>
              {secret.secret}
            </code>
            <CopyButton text={secret.secret} label="Copy secret" />
            <button type="button" class="btn small" onClick={() => setSecret(undefined)}>
              Done
            </button>
          </div>
        </section>
      ) : null}
      <ErrorText error={list.error ?? error} />
      {items.length === 0 && !list.loading ? (
        <Empty title="No webhooks yet">
          <p>Add one below to have the hub POST alarms and device changes to a URL of yours.</p>
        </Empty>
      ) : (
        <div class="scroll-x">
          <table class="list">
            <thead>
              <tr>
                <th>Name</th>
                <th>URL</th>
                <th>Events</th>
                <th>On</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((w) => (
                <WebhookRow
                  key={w.id}
                  w={w}
                  open={open === w.id}
                  tested={tested}
                  onToggleLog={() => setOpen(open === w.id ? undefined : w.id)}
                  onTest={async () => {
                    try {
                      setTested((await webhooks.test(w.id)).delivery);
                      setOpen(w.id);
                    } catch (err) {
                      setError(err);
                    }
                  }}
                  onRotate={async () => {
                    try {
                      const r = await webhooks.rotate(w.id);
                      setSecret({ name: r.name, secret: r.secret });
                    } catch (err) {
                      setError(err);
                    }
                  }}
                  onEnabled={async (enabled) => {
                    try {
                      await webhooks.update(w.id, { enabled });
                      list.reload();
                    } catch (err) {
                      setError(err);
                    }
                  }}
                  onDelete={() => setDeleting(w)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting ? (
        <TypedConfirm
          message={`Delete the webhook ${deleting.name}? Its queued deliveries and its log go with it.`}
          word={deleting.name}
          action="Delete webhook"
          onConfirm={async () => {
            const id = deleting.id;
            setDeleting(undefined);
            try {
              await webhooks.remove(id);
              list.reload();
            } catch (err) {
              setError(err);
            }
          }}
          onCancel={() => setDeleting(undefined)}
        />
      ) : null}
      <NewWebhook
        onCreated={(name, s) => {
          setSecret({ name, secret: s });
          list.reload();
        }}
      />
    </section>
  );
}

function WebhookRow(props: {
  w: WebhookInfo;
  open: boolean;
  tested: string | undefined;
  onToggleLog: () => void;
  onTest: () => void;
  onRotate: () => void;
  onEnabled: (enabled: boolean) => void;
  onDelete: () => void;
}) {
  const { w } = props;
  return (
    <>
      <tr data-webhook={w.name}>
        <td>{w.name}</td>
        <td class="mono data">
          <span class="cut" title={w.url}>
            {w.url}
          </span>
        </td>
        <td class="data words">
          {w.events.map((ev, i) => (
            <span key={ev}>
              {i > 0 ? ', ' : ''}
              <span class="word">{ev}</span>
            </span>
          ))}
          {w.events.includes('alarm') && w.alarmSeverities !== null ? <span class="muted"> ({w.alarmSeverities.join(', ')})</span> : null}
        </td>
        <td>
          <input
            type="checkbox"
            aria-label={`${w.name} enabled`}
            checked={w.enabled}
            onChange={(e) => props.onEnabled(e.currentTarget.checked)}
          />
        </td>
        <td>
          <span class="row">
            <button type="button" class="btn small" onClick={props.onTest}>
              Send test
            </button>
            <button type="button" class="btn small" aria-expanded={props.open} onClick={props.onToggleLog}>
              Deliveries
            </button>
            <button type="button" class="btn small" onClick={props.onRotate}>
              New secret
            </button>
            <button type="button" class="btn small danger" onClick={props.onDelete}>
              Delete
            </button>
          </span>
        </td>
      </tr>
      {props.open ? (
        <tr>
          <td colSpan={5}>
            <DeliveryLog id={w.id} highlight={props.tested} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function DeliveryLog({ id, highlight }: { id: string; highlight: string | undefined }) {
  const log = useAsync(() => webhooks.deliveries(id, 50), [id, highlight]);
  const rows = log.data?.deliveries ?? [];
  // While deliveries are pending (or the test just queued has not shown yet), look again each second.
  const waiting =
    rows.some((d) => d.state === 'pending') || (highlight !== undefined && log.data !== undefined && !rows.some((d) => d.id === highlight));
  useEffect(() => {
    if (!waiting) return;
    const t = setTimeout(log.reload, 1_000);
    return () => clearTimeout(t);
  }, [log.data, waiting]);
  return (
    <section aria-label="Delivery log" class="panel">
      <div class="row">
        <strong>Delivery log</strong> <span class="muted">newest first; finished deliveries are kept a week</span>
        <span class="spacer" />
        <button type="button" class="btn small" onClick={log.reload}>
          Refresh
        </button>
      </div>
      <ErrorText error={log.error} />
      {rows.length === 0 ? (
        <p class="muted">No deliveries yet.</p>
      ) : (
        <div class="scroll-x">
          <table class="list">
            <thead>
              <tr>
                <th>Queued</th>
                <th>Event</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Last answer</th>
                <th class="hide-narrow">Id</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} data-delivery={d.id} data-state={d.state}>
                  <td class="mono">{timestamp(d.createdAt)}</td>
                  <td class="mono">{d.event}</td>
                  <td>
                    {d.state}
                    {d.state === 'pending' && d.nextAt !== null ? <span class="muted"> (next {timestamp(d.nextAt)})</span> : null}
                  </td>
                  <td>{d.attempts}</td>
                  <td class="data">{d.lastError ?? (d.lastStatus === null ? '' : `HTTP ${d.lastStatus}`)}</td>
                  <td class="mono hide-narrow">{d.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function NewWebhook({ onCreated }: { onCreated: (name: string, secret: string) => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<EventName[]>(['alarm', 'device.offline']);
  const [severities, setSeverities] = useState<AlarmSeverity[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const urlError = url === '' || /^https?:\/\/\S+$/.test(url) ? undefined : 'an http:// or https:// URL';
  const toggle = <T,>(list: T[], v: T, on: boolean): T[] => (on ? [...list, v] : list.filter((x) => x !== v));
  return (
    <form
      class="panel form"
      aria-label="New webhook"
      style={{ marginTop: '16px' }}
      onSubmit={async (e) => {
        e.preventDefault();
        if (name === '' || url === '' || urlError || events.length === 0) return;
        setBusy(true);
        setError(undefined);
        try {
          const r = await webhooks.create({ name, url, events, alarmSeverities: severities.length === 0 ? null : severities });
          setName('');
          setUrl('');
          onCreated(r.name, r.secret);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2 style={{ marginTop: 0 }}>New webhook</h2>
      <Field label="Name">{(a) => <input {...a} name="webhook-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      <Field
        label="URL"
        error={urlError}
        hint="The hub POSTs JSON here. Loopback, link-local and cloud metadata addresses are refused unless the hub's --webhook-allow lists them."
      >
        {(a) => <input {...a} name="webhook-url" type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value.trim())} />}
      </Field>
      <fieldset>
        <legend>Tell it about</legend>
        {WEBHOOK_EVENTS.map((ev) => (
          <label key={ev} class="row">
            <input
              type="checkbox"
              name={`event-${ev}`}
              checked={events.includes(ev)}
              onChange={(e) => setEvents(toggle(events, ev, e.currentTarget.checked))}
            />
            {EVENT_LABEL[ev]}
          </label>
        ))}
      </fieldset>
      {events.includes('alarm') ? (
        <fieldset>
          <legend>Alarm severities (none ticked: all)</legend>
          {ALARM_SEVERITIES.map((s) => (
            <label key={s} class="row">
              <input
                type="checkbox"
                checked={severities.includes(s)}
                onChange={(e) => setSeverities(toggle(severities, s, e.currentTarget.checked))}
              />
              {s}
            </label>
          ))}
        </fieldset>
      ) : null}
      <ErrorText error={error} />
      <button
        type="submit"
        class="btn primary"
        disabled={busy || name === '' || url === '' || urlError !== undefined || events.length === 0}
      >
        Add webhook
      </button>
    </form>
  );
}
