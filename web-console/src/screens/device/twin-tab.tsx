// Twin: desired and reported side by side with versions, the keys still waiting for
// the device highlighted, since when, and "not applied" once they waited too long
// (lib/settings.ts); operators edit desired as JSON. The edit is sent as the
// merge patch of what changed, guarded by the version it was based on, so a conflict
// is detected and explained instead of silently overwriting someone else's change.

import type { JsonObject, ProfileField, TwinInfo } from '@halyard/firmware-protocol';
import { useState } from 'preact/hooks';
import { audit } from '../../api/endpoints.ts';
import { ErrorText } from '../../components/error-text.tsx';
import { JsonView } from '../../components/json-view.tsx';
import { Badge, type Tone } from '../../components/status.tsx';
import { ago, span, timestamp } from '../../lib/format.ts';
import { useNow, useSubscribe } from '../../lib/hooks.ts';
import { parseJsonObject, pretty } from '../../lib/json.ts';
import { mergePatchBetween, nullPaths } from '../../lib/merge-patch-diff.ts';
import { patchProblems } from '../../lib/profile-fields.ts';
import { twinNotAppliedAfterMs } from '../../lib/settings.ts';
import { type Sync, type SyncState, twinSync } from '../../lib/twin-sync.ts';
import { useApp, useCan } from '../../state/app-context.ts';
import { useModelProfile } from '../../state/model-profiles.ts';
import { useTwin } from './use-twin.ts';

function lastChange(updated: Record<string, number>): number | undefined {
  const times = Object.values(updated);
  return times.length === 0 ? undefined : Math.max(...times);
}

export function TwinTab({ id }: { id: string }) {
  const { twin, error, accept } = useTwin(id);
  const { fleet } = useApp();
  useSubscribe(fleet.subscribe);
  const canEdit = useCan('operator');
  const now = useNow();
  const [editing, setEditing] = useState(false);
  const keys = useModelProfile(fleet.get(id)?.model)?.desired ?? [];
  if (twin === undefined) return error ? <ErrorText error={error} /> : <p class="muted">Loading the twin…</p>;
  const delta = new Set(Object.keys(twin.delta));
  const dAt = lastChange(twin.desiredUpdated);
  const rAt = lastChange(twin.reportedUpdated);
  const sync = twinSync(twin, fleet.get(id), now, twinNotAppliedAfterMs());
  return (
    <section aria-label="Twin">
      <SyncBanner sync={sync} now={now} />
      <div class="grid-2">
        <div>
          <h2>
            Desired{' '}
            <span class="muted" data-testid="desired-version">
              version {twin.desiredVersion}
            </span>
          </h2>
          <p class="muted">{dAt ? `changed ${ago(dAt, now)}` : 'never set'}</p>
          <JsonView doc={twin.desired} highlight={delta} label="Desired document" />
          {canEdit && !editing ? (
            <p>
              <button type="button" class="btn" onClick={() => setEditing(true)}>
                Edit desired
              </button>
            </p>
          ) : null}
        </div>
        <div>
          <h2>
            Reported <span class="muted">version {twin.reportedVersion}</span>
          </h2>
          <p class="muted">{rAt ? `changed ${ago(rAt, now)}` : 'nothing reported yet'}</p>
          <JsonView doc={twin.reported} highlight={delta} label="Reported document" />
        </div>
      </div>
      {editing ? <DesiredEditor id={id} twin={twin} keys={keys} onDone={() => setEditing(false)} onSaved={accept} /> : null}
    </section>
  );
}

const LOOK: Record<SyncState, { tone: Tone; word: string }> = {
  'in-sync': { tone: 'good', word: 'In sync' },
  never: { tone: 'off', word: 'Never connected' },
  offline: { tone: 'off', word: 'Device offline' },
  waiting: { tone: 'pending', word: 'Waiting' },
  'not-applied': { tone: 'bad', word: 'Not applied' },
};

function SyncBanner({ sync, now }: { sync: Sync; now: number }) {
  const { tone, word } = LOOK[sync.state];
  const keys = `${sync.keys.length === 1 ? 'key' : 'keys'} ${sync.keys.join(', ')}`;
  const since = sync.since === undefined ? '' : `, desired since ${timestamp(sync.since)} (${span(Math.max(0, now - sync.since))} ago)`;
  const text =
    sync.state === 'in-sync'
      ? 'the device reports every desired value.'
      : sync.state === 'never'
        ? 'the device has never connected, so it has reported nothing; it gets desired when it first connects.'
        : sync.state === 'offline'
          ? `${keys} will be sent when the device reconnects${since}.`
          : sync.state === 'waiting'
            ? `the device has not applied ${keys} yet (highlighted)${since}.`
            : `the device has not applied ${keys} (highlighted)${since}. It may not support the key or may refuse the value: check its events, or change desired.`;
  return (
    <p class={sync.state === 'in-sync' ? 'twin-sync' : 'twin-sync notice'} data-testid="twin-sync" data-state={sync.state} role="status">
      <Badge tone={tone}>{word}</Badge>: {text}
    </p>
  );
}

interface Conflict {
  mine: number;
  by: string | undefined;
}

function DesiredEditor({
  id,
  twin,
  keys,
  onDone,
  onSaved,
}: {
  id: string;
  twin: TwinInfo;
  /** The desired keys the device's model understands (its profile); may be empty. */
  keys: readonly ProfileField[];
  onDone: () => void;
  onSaved: (t: TwinInfo) => void;
}) {
  const { channel, me } = useApp();
  const [base, setBase] = useState<{ doc: JsonObject; version: number }>({ doc: twin.desired, version: twin.desiredVersion });
  const [text, setText] = useState(() => pretty(twin.desired));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [conflict, setConflict] = useState<Conflict | undefined>(undefined);

  const parsed = parseJsonObject(text);
  const nulls = parsed.ok ? nullPaths(parsed.value) : [];
  // Checked against the model's profile: a known key with a wrong value blocks saving;
  // a key the profile does not list is only pointed out (the profile may be behind).
  const problems = parsed.ok ? patchProblems(keys, parsed.value) : { errors: [], unknown: [] };
  const invalid = !parsed.ok
    ? parsed.error
    : nulls.length > 0
      ? `null is not a value a merge patch can set (it deletes the key): ${nulls.join(', ')}. Remove the key instead.`
      : problems.errors.length > 0
        ? `${problems.errors.join('; ')}.`
        : undefined;

  const save = async (from: { doc: JsonObject; version: number }, ifMatch: number) => {
    if (!parsed.ok || invalid) return;
    const patch = mergePatchBetween(from.doc, parsed.value);
    if (Object.keys(patch).length === 0) {
      setError('Nothing changed.');
      return;
    }
    setBusy(true);
    setError(undefined);
    const r = await channel.request({ t: 'twin.patch', device: id, patch, ifMatch });
    setBusy(false);
    if (r.ok) {
      if (r.twin) onSaved(r.twin);
      onDone();
      return;
    }
    if (r.error.code === 'HUB_ERR_VERSION_MISMATCH') {
      setConflict({ mine: ifMatch, by: await whoWrote(id, me.role === 'admin') });
      return;
    }
    setError(r.error.message);
  };

  return (
    <form
      class="panel"
      style={{ marginTop: '12px' }}
      onSubmit={(e) => {
        e.preventDefault();
        void save(base, base.version);
      }}
    >
      <h2>Edit desired (based on version {base.version})</h2>
      <div class={invalid ? 'field invalid' : 'field'}>
        <label for="desired-editor">Desired document (JSON)</label>
        <textarea
          id="desired-editor"
          rows={Math.min(24, Math.max(6, text.split('\n').length + 1))}
          value={text}
          spellcheck={false}
          aria-invalid={invalid !== undefined}
          aria-describedby="desired-note"
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <span id="desired-note" class={invalid ? 'field-error' : 'field-hint'}>
          {invalid ??
            `${
              problems.unknown.length > 0 ? `Not in the model's profile: ${problems.unknown.join(', ')} (the device may ignore them). ` : ''
            }Only the keys you change are sent (a JSON merge patch); remove a key to delete it.`}
        </span>
      </div>
      {keys.length > 0 ? <KnownKeys keys={keys} /> : null}
      {conflict ? (
        <div class="notice" role="alert">
          <p>
            Version {twin.desiredVersion} of desired was saved {conflict.by ? `by ${conflict.by} ` : 'by someone else '}while you edited
            version {conflict.mine}; it won, and your change was not applied.
          </p>
          <div class="row">
            <button
              type="button"
              class="btn"
              onClick={() => {
                setBase({ doc: twin.desired, version: twin.desiredVersion });
                setText(pretty(twin.desired));
                setConflict(undefined);
              }}
            >
              Reload version {twin.desiredVersion} (drop my edit)
            </button>
            <button
              type="button"
              class="btn"
              onClick={() => {
                setConflict(undefined);
                // Only the keys this edit changed go on top of the newer version.
                void save(base, twin.desiredVersion);
              }}
            >
              Apply my changes on top of version {twin.desiredVersion}
            </button>
          </div>
        </div>
      ) : null}
      <ErrorText error={error} />
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy || invalid !== undefined}>
          {busy ? 'Saving…' : 'Save desired'}
        </button>
        <button type="button" class="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Who wrote the newest desired version, from the audit log (admins only can read it). */
async function whoWrote(id: string, admin: boolean): Promise<string | undefined> {
  if (!admin) return undefined;
  try {
    const { entries } = await audit.list(undefined, 50);
    return entries.find((e) => e.action === 'twin.desired.patch' && e.target === id)?.actor;
  } catch {
    return undefined;
  }
}

/** The desired keys the model understands, from its profile, with their types. */
function KnownKeys({ keys }: { keys: readonly ProfileField[] }) {
  return (
    <table class="kv known-keys" aria-label="Desired keys this model understands">
      <caption class="muted">Desired keys this model understands (its profile)</caption>
      <tbody>
        {keys.map((k) => (
          <tr key={k.name}>
            <th scope="row" class="mono">
              {k.name}
            </th>
            <td>{describeField(k)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function describeField(f: ProfileField): string {
  if (f.type === 'enum') return `one of ${(f.values ?? []).join(', ')}`;
  if (f.type !== 'number') return f.type === 'boolean' ? 'true or false' : 'text';
  const range = f.min !== undefined || f.max !== undefined ? ` from ${f.min ?? '…'} to ${f.max ?? '…'}` : '';
  return `a number${range}${f.unit ? ` ${f.unit}` : ''}`;
}
