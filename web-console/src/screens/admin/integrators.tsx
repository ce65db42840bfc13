// Integrators: MQTT accounts for other systems. Without an ACL an account gets the
// default (read everything under the prefix, send commands and desired changes).

import { useState } from 'preact/hooks';
import { type Integrator, integrators } from '../../api/endpoints.ts';
import { ApiError } from '../../api/http.ts';
import { TypedConfirm } from '../../components/confirm.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { Field } from '../../components/field.tsx';
import { timestamp } from '../../lib/format.ts';
import { useAsync } from '../../lib/hooks.ts';
import { MqttEndpointPanel } from './mqtt-endpoint.tsx';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

export function Integrators() {
  const list = useAsync(() => integrators.list(), []);
  const [error, setError] = useState<unknown>(undefined);
  const [deleting, setDeleting] = useState<string | undefined>(undefined);
  if (list.error instanceof ApiError && list.error.status === 404) return <p>This hub has no integrator accounts API.</p>;
  const items = list.data?.integrators ?? [];
  return (
    <section aria-label="Integrators">
      <MqttEndpointPanel at={list.data?.mqtt} />
      <ErrorText error={list.error ?? error} />
      {items.length === 0 && !list.loading ? (
        <Empty title="No integrators yet">
          <p>Create an MQTT account below for a system that should read the fleet or send commands over MQTT.</p>
        </Empty>
      ) : (
        <div class="scroll-x">
          <table class="list">
            <thead>
              <tr>
                <th>Username</th>
                <th>May subscribe to</th>
                <th>May publish to</th>
                <th class="hide-narrow">Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((i: Integrator) => (
                <tr key={i.username}>
                  <td class="mono">{i.username}</td>
                  <td class="data">
                    {i.acl.subscribe.join(' ') || '–'}
                    {i.defaultAcl ? <span class="muted"> (default)</span> : null}
                  </td>
                  <td class="data">{i.acl.publish.join(' ') || '–'}</td>
                  <td class="hide-narrow">{timestamp(i.createdAt)}</td>
                  <td>
                    <button type="button" class="btn small danger" onClick={() => setDeleting(i.username)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting ? (
        <TypedConfirm
          message={`Delete the integrator ${deleting}? Its MQTT connections end at once.`}
          word={deleting}
          action="Delete integrator"
          onConfirm={async () => {
            const u = deleting;
            setDeleting(undefined);
            try {
              await integrators.remove(u);
              list.reload();
            } catch (err) {
              setError(err);
            }
          }}
          onCancel={() => setDeleting(undefined)}
        />
      ) : null}
      <NewIntegrator onCreated={list.reload} />
    </section>
  );
}

function NewIntegrator({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [custom, setCustom] = useState(false);
  const [subscribe, setSubscribe] = useState('');
  const [publish, setPublish] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const errors = {
    username: username === '' || USERNAME.test(username) ? undefined : '1-64 of A-Z a-z 0-9 _ . @ - starting with a letter or digit',
    password: password === '' || password.length >= 8 ? undefined : 'at least 8 characters',
  };
  return (
    <form
      class="panel form"
      style={{ marginTop: '16px' }}
      onSubmit={async (e) => {
        e.preventDefault();
        if (errors.username || errors.password || username === '' || password === '') return;
        setBusy(true);
        setError(undefined);
        try {
          await integrators.create({
            username,
            password,
            ...(custom ? { acl: { subscribe: lines(subscribe), publish: lines(publish) } } : {}),
          });
          setUsername('');
          setPassword('');
          onCreated();
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2 style={{ marginTop: 0 }}>New integrator</h2>
      <Field label="Username" error={errors.username}>
        {(a) => <input {...a} value={username} autoComplete="off" onInput={(e) => setUsername(e.currentTarget.value.trim())} />}
      </Field>
      <Field label="Password" error={errors.password}>
        {(a) => (
          <input {...a} type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        )}
      </Field>
      <label class="row" style={{ marginBottom: '10px' }}>
        <input type="checkbox" checked={custom} onChange={(e) => setCustom(e.currentTarget.checked)} />
        Restrict topics (otherwise the default ACL applies)
      </label>
      {custom ? (
        <>
          <Field label="May subscribe to" hint="MQTT topic filters, one per line, e.g. halyard/devices/+/telemetry">
            {(a) => <textarea {...a} rows={3} value={subscribe} onInput={(e) => setSubscribe(e.currentTarget.value)} />}
          </Field>
          <Field label="May publish to" hint="e.g. halyard/devices/+/cmd/+ ; leave empty to allow none">
            {(a) => <textarea {...a} rows={2} value={publish} onInput={(e) => setPublish(e.currentTarget.value)} />}
          </Field>
        </>
      ) : null}
      <ErrorText error={error} />
      <button type="submit" class="btn primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create integrator'}
      </button>
    </form>
  );
}
