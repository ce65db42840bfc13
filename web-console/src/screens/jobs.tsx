// Fleet jobs (docs/jobs.md): the list, a job's page (progress by stage and state,
// failure reasons grouped, its devices linking to each device, pause / resume /
// approve / cancel, its deadline), and the "new job" form (what, which devices with
// the fleet table's filters and a live count, rollout controls, a deadline). Progress
// is live: both pages follow the console channel's `jobs` stream (SPEC.md §10) and
// read the API only when they open, after a reconnect, after the hub coalesced
// updates away (`dropped`), and, on a job's page, for its reasons and device rows a
// second after its counts moved.

import { useEffect, useRef, useState } from 'preact/hooks';
import { type FirmwareImage, type JobDevice, type JobInfo, jobs as jobsApi } from '../api/endpoints.ts';
import { errorText } from '../api/http.ts';
import { AskOnce } from '../components/confirm.tsx';
import { Empty } from '../components/empty.tsx';
import { ErrorText } from '../components/error-text.tsx';
import { Field } from '../components/field.tsx';
import { FormFieldError, markFieldError } from '../lib/field-error.ts';
import { span, timestamp } from '../lib/format.ts';
import { useDropped, useGeneration, useNow, useUpdates } from '../lib/hooks.ts';
import { jobSelection } from '../lib/job-selection.ts';
import { type JobPreview, jobWhat, previewText } from '../lib/job-text.ts';
import { Link, navigate, useLocation } from '../lib/router.tsx';
import { useTitle } from '../lib/title.ts';
import { useApp, useCan } from '../state/app-context.ts';

const STATES = ['pending', 'in_progress', 'succeeded', 'failed', 'skipped', 'cancelled', 'timed_out'] as const;
const LABEL: Record<(typeof STATES)[number], string> = {
  pending: 'pending',
  in_progress: 'in progress',
  succeeded: 'succeeded',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
  timed_out: 'timed out',
};

/** How long after a job's counts moved its page reads the reasons and device rows again, ms (at most once in this time). */
const DETAILS_AFTER_MS = 1_000;

const what = (j: JobInfo): string => jobWhat(j.spec);

const isOpen = (j: Pick<JobInfo, 'state'>) => j.state === 'running' || j.state === 'paused' || j.state === 'waiting';

/** "in 6 d 23 h" before the deadline, "passed" after; the time itself in the title. */
/** Paused by an operator (the hub's reason "paused by <name>"), not by a threshold. */
function pausedByHand(job: Pick<JobInfo, 'state' | 'reason'>): boolean {
  return job.state === 'paused' && (job.reason ?? '').startsWith('paused by ');
}

function Deadline({ job }: { job: JobInfo }) {
  const now = useNow();
  const left = job.deadlineAt - now;
  return (
    <span data-testid="job-deadline" title={timestamp(job.deadlineAt)}>
      deadline {timestamp(job.deadlineAt)}
      {isOpen(job) ? (left > 0 ? ` (in ${span(left)})` : ' (passed)') : ''}
    </span>
  );
}

/** Follows the `jobs` stream while mounted; its reconnects and coalescings, for the views to read the API again. */
function useJobsStream(): { generation: number; dropped: number } {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const dropped = useDropped(channel, 'jobs');
  useEffect(() => channel.subscribe('jobs'), [channel]);
  return { generation, dropped };
}

export function JobsScreen() {
  useTitle('Jobs');
  const can = useCan('operator');
  const { channel } = useApp();
  const { generation, dropped } = useJobsStream();
  const [list, setList] = useState<JobInfo[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  // A job not in the list (created since it was read) makes the list read again.
  const [fresh, setFresh] = useState(0);
  const known = useRef(new Set<string>());
  useUpdates(channel, 'job', (u) => {
    if (!known.current.has(u.job.id)) {
      known.current.add(u.job.id);
      setFresh((n) => n + 1);
      return;
    }
    setList((l) => l?.map((j) => (j.id === u.job.id ? { ...j, ...u.job } : j)));
  });
  // Dependencies: read on opening, after every reconnect, after updates were coalesced away, and for new jobs
  useEffect(() => {
    let live = true;
    jobsApi.list().then(
      (r) => {
        if (!live) return;
        known.current = new Set(r.jobs.map((j) => j.id));
        setList(r.jobs);
        setError(undefined);
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [generation, dropped, fresh]);
  return (
    <>
      <h1>Jobs</h1>
      {can ? (
        <p>
          <Link class="btn primary" href="/jobs/new">
            New job
          </Link>
        </p>
      ) : null}
      <ErrorText error={error} />
      {list !== undefined && list.length === 0 ? (
        <Empty title="No jobs yet">A job updates firmware, sends a command or patches desired state on many devices, in stages.</Empty>
      ) : null}
      {list !== undefined && list.length > 0 ? (
        <div class="scroll-x">
          <table class="list" data-testid="jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>What</th>
                <th>State</th>
                <th>Stage</th>
                <th>Succeeded</th>
                <th>Failed</th>
                <th>In progress</th>
                <th>Pending</th>
                <th>Skipped</th>
                <th>Cancelled, timed out</th>
                <th>Deadline</th>
                <th>By</th>
              </tr>
            </thead>
            <tbody>
              {list.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <td>
                    <Link href={`/jobs/${j.id}`}>{j.name || j.id}</Link>
                  </td>
                  <td>{what(j)}</td>
                  <td>{LABEL_JOB[j.state]}</td>
                  <td>
                    {j.stage}/{j.stages}
                  </td>
                  <td>{j.counts.succeeded}</td>
                  <td>{j.counts.failed}</td>
                  <td>{j.counts.in_progress}</td>
                  <td>{j.counts.pending}</td>
                  <td>{j.counts.skipped}</td>
                  <td>{j.counts.cancelled + j.counts.timed_out}</td>
                  <td>{timestamp(j.deadlineAt)}</td>
                  <td>{j.createdBy}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

const LABEL_JOB: Record<JobInfo['state'], string> = {
  running: 'running',
  paused: 'paused',
  waiting: 'waiting',
  completed: 'completed',
  cancelled: 'cancelled',
  aborted: 'aborted',
  timed_out: 'timed out',
};

export function JobScreen({ id }: { id: string }) {
  useTitle(`Job ${id}`);
  const can = useCan('operator');
  const { channel } = useApp();
  const { generation, dropped } = useJobsStream();
  const [job, setJob] = useState<JobInfo | undefined>(undefined);
  const [devices, setDevices] = useState<JobDevice[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  // Bumped a second after the counts moved: the reasons and device rows are read again then.
  const [details, setDetails] = useState(0);
  const detailsTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(detailsTimer.current), []);
  // Whether the job was open at the last word of it (read or update).
  const wasOpen = useRef(true);
  useUpdates(channel, 'job', (u) => {
    if (u.job.id !== id) return;
    setJob((j) => (j === undefined ? j : { ...j, ...u.job }));
    // The job just ended: its rows are read now, not a second later, so they never contradict its state.
    const ended = wasOpen.current && !isOpen(u.job);
    wasOpen.current = isOpen(u.job);
    if (ended) {
      clearTimeout(detailsTimer.current);
      detailsTimer.current = undefined;
      setDetails((n) => n + 1);
      return;
    }
    detailsTimer.current ??= setTimeout(() => {
      detailsTimer.current = undefined;
      setDetails((n) => n + 1);
    }, DETAILS_AFTER_MS);
  });
  // Dependencies: read on opening, after every reconnect, after updates were coalesced away, and after the counts moved
  useEffect(() => {
    let live = true;
    const load = async () => {
      try {
        const j = await jobsApi.get(id);
        const d = await jobsApi.devices(id);
        if (!live) return;
        wasOpen.current = isOpen(j);
        setJob(j);
        setDevices((old) => (old.length > d.devices.length ? [...d.devices, ...old.slice(d.devices.length)] : d.devices));
        setMore((m) => m || d.devices.length === 200);
        setError(undefined);
      } catch (err) {
        if (live) setError(err);
      }
    };
    void load();
    return () => {
      live = false;
    };
  }, [id, generation, dropped, details]);
  if (job === undefined) return error === undefined ? <p class="muted">Loading the job…</p> : <ErrorText error={error} />;
  const act = async (verb: 'pause' | 'resume' | 'approve' | 'cancel') => {
    setBusy(true);
    try {
      setJob(await jobsApi.act(id, verb));
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const open = isOpen(job);
  return (
    <>
      <h1>
        {job.name || job.id} <span class="muted">{what(job)}</span>
      </h1>
      <p data-testid="job-state">
        <strong>{LABEL_JOB[job.state]}</strong>, stage {job.stage} of {job.stages}, {job.total} devices
        {job.reason ? ` — ${job.reason}` : ''}
      </p>
      <p>
        <Deadline job={job} />
      </p>
      {can && open ? (
        <p class="row">
          {job.state === 'running' ? (
            <button type="button" class="btn" disabled={busy} onClick={() => act('pause')}>
              Pause
            </button>
          ) : null}
          {job.state === 'paused' ? (
            <button type="button" class="btn" disabled={busy} onClick={() => act('resume')}>
              Resume
            </button>
          ) : null}
          {/* Approval is due at a stage that waits for it, or after the hub paused the job at a threshold
              (approving accepts the failures so far); a job an operator paused just resumes. */}
          {job.state === 'waiting' || (job.state === 'paused' && !pausedByHand(job)) ? (
            <button type="button" class="btn" disabled={busy} onClick={() => act('approve')}>
              Approve
            </button>
          ) : null}
          <AskOnce
            label="Cancel job…"
            action={`Cancel ${job.name || job.id}: devices not started are skipped`}
            keep="Keep the job"
            disabled={busy}
            onConfirm={() => void act('cancel')}
          />
        </p>
      ) : null}
      <ErrorText error={error} />
      <div class="scroll-x">
        <table class="list" data-testid="job-stages">
          <thead>
            <tr>
              <th>Stage</th>
              {STATES.map((s) => (
                <th key={s}>{LABEL[s]}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {job.byStage.map((s) => (
              <tr key={s.stage} aria-current={s.stage === job.stage ? 'step' : undefined}>
                <td>
                  {s.stage} (to {s.percent}%)
                </td>
                {STATES.map((st) => (
                  <td key={st}>{s[st]}</td>
                ))}
              </tr>
            ))}
            <tr data-testid="job-counts">
              <th>All</th>
              {STATES.map((st) => (
                <th key={st} data-state={st}>
                  {job.counts[st]}
                </th>
              ))}
            </tr>
          </tbody>
        </table>
      </div>
      {job.reasons.length > 0 ? (
        <>
          <h2>Why devices did not succeed</h2>
          <ul data-testid="job-reasons">
            {job.reasons.map((r) => (
              <li key={r.reason}>
                {r.reason}: {r.n}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h2>Devices</h2>
      {job.total === 0 ? (
        <Empty title={open ? 'No device in this job yet' : 'No device was in this job'}>
          {open ? 'Devices that join its selection (provisioned, tagged, back online) are taken in until the job ends.' : null}
        </Empty>
      ) : (
        <div class="scroll-x">
          <table class="list" data-testid="job-devices">
            <thead>
              <tr>
                <th>Device</th>
                <th>Stage</th>
                <th>State</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.device}>
                  <td>
                    <Link href={`/devices/${encodeURIComponent(d.device)}`}>{d.device}</Link>
                  </td>
                  <td>{d.stage}</td>
                  <td>{LABEL[d.state]}</td>
                  <td>{d.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more ? (
        <button
          type="button"
          class="btn"
          onClick={async () => {
            const last = devices[devices.length - 1]?.device;
            try {
              const next = await jobsApi.devices(id, last);
              setDevices((d) => [...d, ...next.devices]);
              setMore(next.devices.length === 200);
              setError(undefined);
            } catch (err) {
              setError(err);
            }
          }}
        >
          More devices
        </button>
      ) : null}
    </>
  );
}

/** "1 device chosen (fan-1).", "5 devices chosen (a, b, c, …)." */
const chosenText = (ids: string[]) =>
  `${ids.length} device${ids.length === 1 ? '' : 's'} chosen (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''}).`;

/** The new-job form; the fleet table's filters arrive in the URL (/jobs/new?tag=&model=&status=&q=). */
export function NewJobScreen() {
  useTitle('New job');
  const can = useCan('operator');
  const { search } = useLocation();
  const p = new URLSearchParams(search);
  const [kind, setKind] = useState<'command' | 'desired' | 'update'>(p.get('what') === 'update' ? 'update' : 'command');
  const [name, setName] = useState('');
  const [command, setCommand] = useState('ping');
  const [params, setParams] = useState('');
  const [ttl, setTtl] = useState('');
  const [timeout, setTimeout_] = useState('');
  const [patch, setPatch] = useState('{}');
  const [firmware, setFirmware] = useState('');
  const [images, setImages] = useState<FirmwareImage[]>([]);
  const [tag, setTag] = useState(p.get('tag') ?? '');
  const [model, setModel] = useState(p.get('model') ?? '');
  const [status, setStatus] = useState(p.get('status') === 'online' || p.get('status') === 'offline' ? (p.get('status') as string) : 'any');
  const [q, setQ] = useState(p.get('q') ?? '');
  // Devices chosen in the fleet table (checkboxes, or all the filter matched).
  const [ids] = useState(() => (p.get('from') === 'fleet' ? jobSelection().join(',') : ''));
  const [maxInProgress, setMax] = useState('100');
  const [stages, setStages] = useState('100');
  const [approveLast, setApproveLast] = useState(false);
  const [success, setSuccess] = useState('90');
  const [failure, setFailure] = useState('');
  const [deadline, setDeadline] = useState('');
  const [rate, setRate] = useState('');
  const [windowFrom, setWindowFrom] = useState('');
  const [windowTo, setWindowTo] = useState('');
  const form = useRef<HTMLFormElement>(null);
  const [preview, setPreview] = useState<JobPreview | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    jobsApi.firmware().then(
      (r) => setImages(r.firmware.filter((f) => f.status === 'ready')),
      () => {},
    );
  }, []);

  /** A JSON box's text: its value (undefined when empty), or what is wrong with it. */
  const readBox = (text: string): { value: unknown } | { error: string } => {
    if (text.trim() === '') return { value: undefined };
    try {
      return { value: JSON.parse(text) };
    } catch (err) {
      return { error: `not JSON (${(err as Error).message})` };
    }
  };
  /** `text` parsed; not JSON is an error at its box (`field`, as the hub names it), labelled `label`. */
  const json = (text: string, field: string, label: string): unknown => {
    const r = readBox(text);
    if ('error' in r) throw new FormFieldError(field, `${label}: ${r.error}`);
    return r.value;
  };
  /** What is wrong with a box's text, said as the operator types (undefined: empty or JSON). */
  const notJson = (text: string): string | undefined => {
    const r = readBox(text);
    return 'error' in r ? r.error : undefined;
  };
  const patchProblem = (): string | undefined => {
    const r = readBox(patch);
    if ('error' in r) return r.error;
    const v = r.value;
    return v === undefined || (v !== null && typeof v === 'object' && !Array.isArray(v))
      ? undefined
      : 'a JSON object, such as {"mode": "eco"}';
  };
  /** The job as the form says; the preview leaves the deadline out (a half-typed one would fail it, and it changes no count). */
  const spec = (withDeadline = true): unknown => {
    const percents = stages
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
    return {
      name,
      action:
        kind === 'command'
          ? {
              type: 'command',
              name: command,
              ...(params.trim() ? { params: json(params, 'action.params', 'Params (JSON)') } : {}),
              ...(ttl.trim() ? { ttl: ttl.trim() } : {}),
              ...(timeout.trim() ? { timeout: timeout.trim() } : {}),
            }
          : kind === 'desired'
            ? { type: 'desired', patch: json(patch, 'action.patch', 'Desired patch') ?? {} }
            : { type: 'update', firmware },
      selection: {
        ...(ids ? { devices: ids.split(',') } : {}),
        ...(tag ? { tags: [tag] } : {}),
        ...(model ? { model } : {}),
        ...(q ? { q } : {}),
        status,
      },
      rollout: {
        maxInProgress: Number(maxInProgress),
        stages: percents.map((percent, i) => ({ percent, approval: approveLast && i === percents.length - 1 && i > 0 })),
        successThreshold: Number(success) / 100,
        failureThreshold: failure ? { ratio: Number(failure) / 100, action: 'pause' } : null,
        ratePerMinute: rate.trim() ? Number(rate) : null,
        window: windowFrom || windowTo ? { from: windowFrom, to: windowTo } : null,
      },
      ...(withDeadline && deadline.trim() ? { deadline: deadline.trim() } : {}),
    };
  };
  // The live count of devices the selection takes in now (an update counts once its image is chosen).
  useEffect(() => {
    setPreview(undefined);
    if (kind === 'update' && firmware === '') return;
    const t = setTimeout(() => {
      let s: unknown;
      try {
        s = spec(false);
      } catch {
        return;
      }
      jobsApi.preview(s).then(setPreview, (err: unknown) => setPreview({ error: errorText(err) }));
    }, 200);
    return () => clearTimeout(t);
  }, [kind, firmware, tag, model, status, q, ids]);

  if (!can) return <p>Creating jobs needs the operator role.</p>;
  return (
    <>
      <h1>New job</h1>
      <form
        class="panel form"
        ref={form}
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          markFieldError(form.current, undefined);
          try {
            const j = await jobsApi.create(spec());
            navigate(`/jobs/${j.id}`);
          } catch (err) {
            setError(err);
            markFieldError(form.current, err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label="Name">{(a) => <input {...a} name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <Field label="What">
          {(a) => (
            <select {...a} value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
              <option value="command">Send a command</option>
              <option value="desired">Patch desired state</option>
              <option value="update">Update firmware</option>
            </select>
          )}
        </Field>
        {kind === 'command' ? (
          <>
            <Field label="Command">
              {(a) => <input {...a} name="action.name" value={command} onInput={(e) => setCommand(e.currentTarget.value)} />}
            </Field>
            <Field label="Params (JSON)" error={notJson(params)}>
              {(a) => <textarea {...a} name="action.params" value={params} onInput={(e) => setParams(e.currentTarget.value)} />}
            </Field>
            <div class="field-pair">
              <Field label="TTL" hint="how long each device's command may wait for delivery (default 5m)">
                {(a) => (
                  <input {...a} name="action.ttl" placeholder="5m" size={8} value={ttl} onInput={(e) => setTtl(e.currentTarget.value)} />
                )}
              </Field>
              <Field label="Timeout" hint="time for a result once sent (default 30s)">
                {(a) => (
                  <input
                    {...a}
                    name="action.timeout"
                    placeholder="30s"
                    size={8}
                    value={timeout}
                    onInput={(e) => setTimeout_(e.currentTarget.value)}
                  />
                )}
              </Field>
            </div>
          </>
        ) : null}
        {kind === 'desired' ? (
          <Field label="Desired patch (JSON merge patch)" error={patchProblem()}>
            {(a) => <textarea {...a} name="action.patch" value={patch} onInput={(e) => setPatch(e.currentTarget.value)} />}
          </Field>
        ) : null}
        {kind === 'update' ? (
          <Field
            label="Firmware image"
            hint={
              images.length === 0 ? (
                <>
                  Upload one on the <Link href="/firmware">Firmware</Link> page first.
                </>
              ) : undefined
            }
          >
            {(a) => (
              <select {...a} name="action.firmware" value={firmware} onChange={(e) => setFirmware(e.currentTarget.value)}>
                <option value="">{images.length === 0 ? 'no image in the library yet' : 'choose an image'}</option>
                {images.map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.model} {f.version}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        <fieldset>
          <legend>Devices</legend>
          {ids ? <p>{chosenText(ids.split(','))}</p> : null}
          <Field label="Tag">
            {(a) => <input {...a} name="selection.tags" value={tag} onInput={(e) => setTag(e.currentTarget.value)} />}
          </Field>
          <Field label="Model">
            {(a) => <input {...a} name="selection.model" value={model} onInput={(e) => setModel(e.currentTarget.value)} />}
          </Field>
          <Field label="Search">{(a) => <input {...a} name="selection.q" value={q} onInput={(e) => setQ(e.currentTarget.value)} />}</Field>
          <Field label="Status">
            {(a) => (
              <select {...a} name="selection.status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
                <option value="any">online or not</option>
                <option value="online">online now</option>
                <option value="offline">offline now</option>
              </select>
            )}
          </Field>
          <p data-testid="job-preview" aria-live="polite">
            {previewText(preview, kind === 'update' ? (images.find((f) => f.id === firmware) ?? null) : undefined)}
          </p>
        </fieldset>
        <fieldset>
          <legend>Rollout</legend>
          <Field label="At most in progress">
            {(a) => (
              <input
                {...a}
                name="rollout.maxInProgress"
                type="number"
                min="1"
                value={maxInProgress}
                onInput={(e) => setMax(e.currentTarget.value)}
              />
            )}
          </Field>
          <Field label="Stages (cumulative %)" hint="e.g. 1, 10, 50, 100">
            {(a) => <input {...a} name="rollout.stages" value={stages} onInput={(e) => setStages(e.currentTarget.value)} />}
          </Field>
          <label>
            <input type="checkbox" checked={approveLast} onChange={(e) => setApproveLast(e.currentTarget.checked)} /> The last stage waits
            for approval
          </label>
          <Field label="Next stage when succeeded ≥ (%)">
            {(a) => (
              <input
                {...a}
                name="rollout.successThreshold"
                type="number"
                min="0"
                max="100"
                value={success}
                onInput={(e) => setSuccess(e.currentTarget.value)}
              />
            )}
          </Field>
          <Field label="Pause when failed > (%)" hint="empty: never">
            {(a) => (
              <input
                {...a}
                name="rollout.failureThreshold"
                type="number"
                min="0"
                max="100"
                value={failure}
                onInput={(e) => setFailure(e.currentTarget.value)}
              />
            )}
          </Field>
          <Field label="Devices started per minute" hint="empty: no limit">
            {(a) => (
              <input
                {...a}
                name="rollout.ratePerMinute"
                type="number"
                min="1"
                value={rate}
                onInput={(e) => setRate(e.currentTarget.value)}
              />
            )}
          </Field>
          <div class="field-pair">
            <Field label="Start devices from (UTC)" hint="with “until”: devices start only inside this daily window">
              {(a) => (
                <input
                  {...a}
                  name="rollout.window.from"
                  type="time"
                  value={windowFrom}
                  onInput={(e) => setWindowFrom(e.currentTarget.value)}
                />
              )}
            </Field>
            <Field label="until (UTC)">
              {(a) => (
                <input {...a} name="rollout.window.to" type="time" value={windowTo} onInput={(e) => setWindowTo(e.currentTarget.value)} />
              )}
            </Field>
          </div>
          <Field
            label="Deadline"
            hint="how long the job may run, e.g. 12h or 7d; then devices not finished end timed out. Empty: the hub's default (7 d unless --job-deadline says otherwise)"
          >
            {(a) => <input {...a} name="deadline" value={deadline} placeholder="7d" onInput={(e) => setDeadline(e.currentTarget.value)} />}
          </Field>
        </fieldset>
        <ErrorText error={error} />
        <button type="submit" class="btn primary" disabled={busy}>
          Start job
        </button>
      </form>
    </>
  );
}
