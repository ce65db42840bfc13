// Provision: create a device and leave with its one-time token and how to use it.

import { DEVICE_ID_PATTERN } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { devices } from '../api/endpoints.ts';
import { ErrorText } from '../components/error-text.tsx';
import { Field } from '../components/field.tsx';
import { TokenPanel } from '../components/token-panel.tsx';
import { Link, setLeaveGuard } from '../lib/router.tsx';
import { parseTags, tagsError } from '../lib/tags.ts';
import { useTitle } from '../lib/title.ts';
import { useCan } from '../state/app-context.ts';

export function Provision() {
  useTitle('Provision');
  const can = useCan('operator');
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [model, setModel] = useState('');
  const [tags, setTags] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<{ id: string; token: string } | undefined>(undefined);

  // The token exists only on this screen: closing or reloading the tab asks first, and
  // so does leaving through the console's own links (the browser's own dialog, as for the tab).
  useEffect(() => {
    if (created === undefined) return;
    const ask = (e: BeforeUnloadEvent) => e.preventDefault();
    addEventListener('beforeunload', ask);
    setLeaveGuard(() => confirm(`Leave this page? The token of ${created.id} is shown only once; rotating it makes a new one.`));
    return () => {
      removeEventListener('beforeunload', ask);
      setLeaveGuard(undefined);
    };
  }, [created]);
  if (!can) return <p>Provisioning needs the operator role.</p>;
  if (created) {
    return (
      <>
        <h1>Provision a device</h1>
        <TokenPanel id={created.id} token={created.token} title={`${created.id} is provisioned`} />
        <p class="row">
          <Link href={`/devices/${encodeURIComponent(created.id)}`}>Open {created.id}</Link>
          <button
            type="button"
            class="btn"
            onClick={() => {
              setCreated(undefined);
              setId('');
              setName('');
              setModel('');
              setTags('');
            }}
          >
            Provision another
          </button>
        </p>
      </>
    );
  }

  const tagList = parseTags(tags);
  const errors = {
    id: id === '' ? undefined : DEVICE_ID_PATTERN.test(id) ? undefined : '1-64 of A-Z a-z 0-9 _ . : - starting with a letter or digit',
    tags: tagsError(tagList),
  };
  return (
    <>
      <h1>Provision a device</h1>
      <form
        class="panel form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (id === '' || errors.id || errors.tags) return;
          setBusy(true);
          setError(undefined);
          try {
            const d = await devices.create({
              id,
              ...(name.trim() ? { name: name.trim() } : {}),
              ...(model.trim() ? { model: model.trim() } : {}),
              ...(tagList.length ? { tags: tagList } : {}),
            });
            setCreated({ id: d.id, token: d.token });
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label="Device id" error={errors.id} hint="Used in URLs and MQTT topics; cannot change later.">
          {(a) => (
            <input
              {...a}
              name="id"
              value={id}
              required
              autoComplete="off"
              spellcheck={false}
              onInput={(e) => setId(e.currentTarget.value.trim())}
            />
          )}
        </Field>
        <Field label="Name (optional)">
          {(a) => <input {...a} name="name" value={name} maxLength={128} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Field label="Model (optional)" hint="The device reports its own model when it connects.">
          {(a) => <input {...a} name="model" value={model} maxLength={128} onInput={(e) => setModel(e.currentTarget.value)} />}
        </Field>
        <Field label="Tags (optional)" error={errors.tags} hint="Comma-separated, e.g. lab, floor-2">
          {(a) => <input {...a} name="tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />}
        </Field>
        <ErrorText error={error} />
        <button type="submit" class="btn primary" disabled={busy || id === '' || errors.id !== undefined || errors.tags !== undefined}>
          {busy ? 'Creating…' : 'Create device'}
        </button>
      </form>
    </>
  );
}
