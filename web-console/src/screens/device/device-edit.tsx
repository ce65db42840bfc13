// Renaming and retagging a device (PATCH /devices/:id), inline under its header. Enter
// saves, Escape cancels; the hub's refusal is shown here in words.

import type { DeviceInfo } from '@halyard/firmware-protocol';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { devices } from '../../api/endpoints.ts';
import { ErrorText } from '../../components/error-text.tsx';
import { Field } from '../../components/field.tsx';
import { parseTags, tagsError } from '../../lib/tags.ts';
import { useApp } from '../../state/app-context.ts';

export function DeviceEdit({ device, onDone }: { device: DeviceInfo; onDone: () => void }) {
  const { fleet } = useApp();
  const [name, setName] = useState(device.name ?? '');
  const [tags, setTags] = useState(device.tags.join(', '));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const form = useRef<HTMLFormElement>(null);
  // Opened by the operator's click: put the cursor in the first field.
  useLayoutEffect(() => form.current?.querySelector('input')?.focus(), []);
  const tagList = parseTags(tags);
  const errors = { name: name.length > 128 ? 'at most 128 characters' : undefined, tags: tagsError(tagList) };
  const invalid = errors.name !== undefined || errors.tags !== undefined;

  return (
    <form
      ref={form}
      class="panel form device-edit"
      aria-label="Edit device"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onDone();
      }}
      onSubmit={async (e) => {
        e.preventDefault();
        if (invalid) return;
        setBusy(true);
        setError(undefined);
        try {
          const d = await devices.update(device.id, { name: name.trim() === '' ? null : name.trim(), tags: tagList });
          // The channel brings the same change; applying the answer now saves a flicker.
          fleet.apply({ t: 'device', device: d });
          onDone();
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <Field label="Name" error={errors.name} hint="Leave empty for none.">
        {(a) => <input {...a} name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />}
      </Field>
      <Field label="Tags" error={errors.tags} hint="Comma-separated, e.g. lab, floor-2">
        {(a) => <input {...a} name="tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />}
      </Field>
      <ErrorText error={error} />
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy || invalid}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" class="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
