// A device's firmware updates (docs/firmware.md): the one in progress with its
// progress bar, then the history, newest first, each with its job if a fleet job made
// it. Re-read every second while an update is open (no live stream for updates yet).

import { FINAL_UPDATE_STATES, type UpdateInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api/http.ts';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { timestamp } from '../../lib/format.ts';
import { setJobSelection } from '../../lib/job-selection.ts';
import { Link, navigate } from '../../lib/router.tsx';
import { useCan } from '../../state/app-context.ts';

/** Opens the new-job form as a firmware update of this one device (a fleet job makes every update). */
function UpdateThisDevice({ id }: { id: string }) {
  if (!useCan('operator')) return null;
  return (
    <button
      type="button"
      class="btn"
      onClick={() => {
        setJobSelection([id]);
        navigate('/jobs/new?from=fleet&what=update');
      }}
    >
      Update this device…
    </button>
  );
}

export function UpdatesTab({ id }: { id: string }) {
  const [list, setList] = useState<UpdateInfo[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api<{ updates: UpdateInfo[] }>('GET', `/devices/${encodeURIComponent(id)}/updates`).then(
        (r) => {
          if (!live) return;
          setList(r.updates);
          setError(undefined);
          timer = setTimeout(load, r.updates.some((u) => !FINAL_UPDATE_STATES.has(u.state)) ? 1_000 : 5_000);
        },
        (err: unknown) => {
          if (!live) return;
          setError(err);
          timer = setTimeout(load, 5_000);
        },
      );
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id]);
  if (list === undefined) return error === undefined ? <p class="muted">Loading the updates…</p> : <ErrorText error={error} />;
  const current = list.find((u) => !FINAL_UPDATE_STATES.has(u.state));
  return (
    <section aria-label="Firmware updates">
      <ErrorText error={error} />
      {current ? (
        <div class="panel" data-testid="current-update">
          <p>
            Updating {current.fromFw ?? '?'} → <strong>{current.toFw}</strong>: {current.state.replaceAll('_', ' ')}
            {current.attempts > 1 ? ` (attempt ${current.attempts})` : ''}
          </p>
          {current.size ? (
            <progress max={current.size} value={current.progress}>
              {Math.round((current.progress / current.size) * 100)}%
            </progress>
          ) : null}
          <span class="muted">
            {' '}
            {current.size ? `${Math.round((current.progress / current.size) * 100)}% of ${current.size} bytes` : ''}
          </span>
        </div>
      ) : null}
      {list.length > 0 && current === undefined ? (
        <p>
          <UpdateThisDevice id={id} />
        </p>
      ) : null}
      {list.length === 0 ? (
        <Empty title="No firmware updates yet">
          <p>An update is made by a fleet job, from an image in the Firmware library.</p>
          <UpdateThisDevice id={id} />
        </Empty>
      ) : (
        <div class="scroll-x">
          <table class="list" aria-label="Firmware updates, newest first" data-testid="update-history">
            <thead>
              <tr>
                <th>Started</th>
                <th>From → to</th>
                <th>State</th>
                <th>Reason</th>
                <th>Job</th>
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr key={u.id}>
                  <td>{timestamp(u.createdAt)}</td>
                  <td>
                    {u.fromFw ?? '?'} → {u.toFw}
                  </td>
                  <td>{u.state.replaceAll('_', ' ')}</td>
                  <td>{u.reason ?? ''}</td>
                  <td>{u.job ? <Link href={`/jobs/${u.job}`}>{u.job}</Link> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
