// Commands: a form (name with suggestions, params as JSON, ttl and timeout) for
// operators, and every command of the device, live, newest first. Suggestions are the
// commands the device declared in its HELLO caps (`cmd:<name>`, SPEC.md §5.1), then
// the device's own history.

import { type CommandInfo, NAME_PATTERN, type ProfileCommand, parseDuration } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { devices } from '../../api/endpoints.ts';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { Field } from '../../components/field.tsx';
import { ProfileFieldInput } from '../../components/profile-field-input.tsx';
import { commandsFromCaps, suggestedNames } from '../../lib/command-outcome.ts';
import { upsertCommand } from '../../lib/command-timeline.ts';
import { useGeneration, useNow, useSubscribe, useUpdates } from '../../lib/hooks.ts';
import { parseJson } from '../../lib/json.ts';
import { paramsFrom } from '../../lib/profile-fields.ts';
import { useApp, useCan } from '../../state/app-context.ts';
import { useModelProfile } from '../../state/model-profiles.ts';
import { CommandRow } from './command-row.tsx';

/** Every device runs these (SPEC.md: built into the simulator; real firmware usually too). */
const COMMON = ['ping', 'reboot'];

export function CommandsTab({ id }: { id: string }) {
  const { channel, fleet } = useApp();
  const canSend = useCan('operator');
  const generation = useGeneration(channel);
  const now = useNow();
  const [list, setList] = useState<CommandInfo[]>([]);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => channel.subscribe('commands', [id]), [channel, id]);
  useUpdates(channel, 'command', (u) => {
    if (u.command.device === id) setList((l) => upsertCommand(l, u.command));
  });
  // Dependencies: refetch per device and after every reconnect
  useEffect(() => {
    let live = true;
    devices.commands(id, 50).then(
      (r) => {
        if (!live) return;
        setError(undefined);
        setList((l) => r.commands.reduce(upsertCommand, l));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [id, generation]);

  // The fleet's copy of the device may predate its latest HELLO: its caps are read
  // afresh when the tab opens, after a reconnect and when the device comes online.
  useSubscribe(fleet.subscribe);
  const online = fleet.get(id)?.online ?? false;
  const [caps, setCaps] = useState<string[] | undefined>(undefined);
  useEffect(() => {
    let live = true;
    devices.get(id).then(
      (d) => live && setCaps(d.caps),
      () => undefined, // suggestions are a help: without them the form still works
    );
    return () => {
      live = false;
    };
  }, [id, generation, online]);

  // The model's profile adds the commands operators described, with their parameters.
  const profile = useModelProfile(fleet.get(id)?.model);
  const described = profile?.commands ?? [];
  const declared = [...new Set([...commandsFromCaps(caps ?? fleet.get(id)?.caps), ...described.map((c) => c.name)])];
  const names = suggestedNames(list, COMMON, declared);
  return (
    <section aria-label="Commands">
      {canSend ? <CommandForm id={id} names={names} described={described} onSent={(c) => setList((l) => upsertCommand(l, c))} /> : null}
      <h2>History</h2>
      <ErrorText error={error} />
      {list.length === 0 ? (
        <Empty title="No commands yet">{canSend ? <p>Send one with the form above.</p> : null}</Empty>
      ) : (
        <ul style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Commands, newest first">
          {list.map((c) => (
            <CommandRow key={c.id} c={c} now={now} canCancel={canSend} />
          ))}
        </ul>
      )}
    </section>
  );
}

function CommandForm({
  id,
  names,
  described,
  onSent,
}: {
  id: string;
  names: string[];
  described: readonly ProfileCommand[];
  onSent: (c: CommandInfo) => void;
}) {
  const { channel } = useApp();
  const [name, setName] = useState('');
  const [params, setParams] = useState('{}');
  const [ttl, setTtl] = useState('');
  const [timeout, setTimeout_] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  // A command the model's profile describes with parameters gets a form for them.
  const schema = described.find((c) => c.name === name && c.params.length > 0);
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const fromForm = schema ? paramsFrom(schema.params, inputs) : undefined;

  const p = fromForm
    ? ({ ok: true, value: Object.keys(fromForm.params).length === 0 ? null : fromForm.params } as const)
    : params.trim() === ''
      ? ({ ok: true, value: null } as const)
      : parseJson(params);
  const paramErrors = fromForm?.errors ?? {};
  const errors = {
    name:
      name === ''
        ? 'name the command'
        : NAME_PATTERN.test(name)
          ? undefined
          : '1-64 of A-Z a-z 0-9 _ . : - starting with a letter or digit',
    params: p.ok ? undefined : p.error,
    ttl: ttl === '' || parseDuration(ttl) !== undefined ? undefined : 'a duration such as 30s, 5m or 1h',
    timeout: timeout === '' || (parseDuration(timeout) ?? 0) > 0 ? undefined : 'a duration above zero such as 30s',
    form: Object.keys(paramErrors).length > 0 ? 'see the parameters' : undefined,
  };
  const invalid = Object.values(errors).some((e) => e !== undefined);

  return (
    <form
      class="panel form"
      aria-label="Send a command"
      onSubmit={async (e) => {
        e.preventDefault();
        setTouched(true);
        if (invalid || !p.ok) return;
        setBusy(true);
        setError(undefined);
        const r = await channel.request({
          t: 'command',
          device: id,
          name,
          ...(p.value === null ? {} : { params: p.value }),
          ...(ttl === '' ? {} : { ttl }),
          ...(timeout === '' ? {} : { timeout }),
        });
        setBusy(false);
        if (r.ok && r.command) onSent(r.command);
        else if (!r.ok) setError(r.error.field ? `${r.error.field}: ${r.error.message}` : r.error.message);
      }}
    >
      <h2 style={{ marginTop: 0 }}>Send a command</h2>
      <Field label="Name" error={touched || name !== '' ? errors.name : undefined}>
        {(a) => (
          <input
            {...a}
            name="command"
            list="command-names"
            value={name}
            autoComplete="off"
            onInput={(e) => setName(e.currentTarget.value.trim())}
          />
        )}
      </Field>
      <datalist id="command-names">
        {names.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      {schema ? (
        <fieldset class="params">
          <legend>Parameters{schema.description ? `: ${schema.description}` : ''}</legend>
          {schema.params.map((f) => (
            <ProfileFieldInput
              key={f.name}
              field={f}
              value={inputs[f.name] ?? ''}
              error={touched || (inputs[f.name] ?? '') !== '' ? paramErrors[f.name] : undefined}
              onInput={(v) => setInputs((i) => ({ ...i, [f.name]: v }))}
            />
          ))}
        </fieldset>
      ) : (
        <Field label="Params (JSON)" error={errors.params} hint="Any JSON value; leave empty for none.">
          {(a) => (
            <textarea {...a} name="params" rows={3} value={params} spellcheck={false} onInput={(e) => setParams(e.currentTarget.value)} />
          )}
        </Field>
      )}
      <div class="field-pair">
        <Field label="TTL" error={errors.ttl} hint="how long it may wait for delivery (default 5m)">
          {(a) => <input {...a} name="ttl" placeholder="5m" size={8} value={ttl} onInput={(e) => setTtl(e.currentTarget.value.trim())} />}
        </Field>
        <Field label="Timeout" error={errors.timeout} hint="time for a result once sent (default 30s)">
          {(a) => (
            <input
              {...a}
              name="timeout"
              placeholder="30s"
              size={8}
              value={timeout}
              onInput={(e) => setTimeout_(e.currentTarget.value.trim())}
            />
          )}
        </Field>
      </div>
      <ErrorText error={error} />
      <button type="submit" class="btn primary" disabled={busy || (touched && invalid)}>
        {busy ? 'Sending…' : 'Send command'}
      </button>
    </form>
  );
}
