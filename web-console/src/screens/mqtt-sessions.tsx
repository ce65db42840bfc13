// The Hub page's MQTT accounts (admins only: the list is the integrators API): each
// account's connected clients and persistent sessions, with what each session holds
// for its client (queued QoS 1 messages, drops from a full queue) and when a waiting
// one expires; an admin can end a session, freeing its queue. In a cluster every
// node's clients and sessions, with the node of each, and the nodes not heard from.

import { useEffect, useState } from 'preact/hooks';
import { integrators, type MqttSession } from '../api/endpoints.ts';
import { TypedConfirm } from '../components/confirm.tsx';
import { ErrorText } from '../components/error-text.tsx';
import { Badge } from '../components/status.tsx';
import { bytes, span } from '../lib/format.ts';
import { useAsync } from '../lib/hooks.ts';

/** ms between refreshes: queues change with every message, a table need not. */
const REFRESH_MS = 5_000;

/** How many connected clients are named in the accounts table; the rest are counted. */
const NAMED_CLIENTS = 5;

/** The connected clients by id (who is on, not only how many), the first few of them. */
function ClientIds({ connections }: { connections: readonly { clientId: string }[] }) {
  if (connections.length === 0) return null;
  const ids = [...new Set(connections.map((c) => c.clientId))].sort();
  const more = ids.length - NAMED_CLIENTS;
  return (
    <div class="muted mono wrap-any">
      {ids.slice(0, NAMED_CLIENTS).join(', ')}
      {more > 0 ? ` and ${more} more` : ''}
    </div>
  );
}

export function MqttSessions({ now }: { now: number }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  const list = useAsync(() => integrators.list(), [tick]);
  const [dropping, setDropping] = useState<{ username: string; clientId: string } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const accounts = list.data?.integrators ?? [];
  const rows = accounts.flatMap((a) => (a.sessions ?? []).map((s) => ({ username: a.username, s })));
  const missing = list.data?.missingNodes ?? [];
  const nodes = new Set(accounts.flatMap((a) => [...(a.connections ?? []), ...(a.sessions ?? [])].map((x) => x.node)));
  const cluster = nodes.size > 1 || missing.length > 0;
  return (
    <section aria-label="MQTT accounts">
      <h2>MQTT accounts</h2>
      <ErrorText error={list.error ?? error} />
      {missing.length > 0 ? (
        <p class="tone-bad" data-testid="mqtt-missing-nodes">
          Not heard from lately: {missing.join(', ')}. Their clients are missing below.
        </p>
      ) : null}
      {accounts.length === 0 ? (
        <p class="muted">No integrator accounts (Admin, Integrators).</p>
      ) : (
        <div class="scroll-x">
          <table class="list" data-testid="mqtt-accounts">
            <thead>
              <tr>
                <th>Account</th>
                <th>Connected clients</th>
                <th>Persistent sessions</th>
                <th>Queued</th>
                <th>Dropped</th>
              </tr>
            </thead>
            <tbody>
              {accounts.map((a) => {
                const sessions = a.sessions ?? [];
                return (
                  <tr key={a.username}>
                    <td class="mono">{a.username}</td>
                    <td data-testid="mqtt-clients">
                      {a.clients ?? 0}
                      {cluster && (a.connections ?? []).length > 0 ? <span class="muted"> ({perNode(a.connections ?? [])})</span> : null}
                      <ClientIds connections={a.connections ?? []} />
                    </td>
                    <td>{sessions.length}</td>
                    <td>{sessions.reduce((n, s) => n + s.queued, 0)}</td>
                    <td>{sessions.reduce((n, s) => n + s.dropped, 0)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {rows.length > 0 ? (
        <div class="scroll-x" style={{ marginTop: '12px' }}>
          <table class="list" data-testid="mqtt-sessions">
            <thead>
              <tr>
                <th>Account</th>
                <th>Client id</th>
                {cluster ? <th>Node</th> : null}
                <th>State</th>
                <th>Queued</th>
                <th>Dropped</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map(({ username, s }) => (
                <tr key={`${username}:${s.clientId}`}>
                  <td class="mono">{username}</td>
                  <td class="mono">{s.clientId}</td>
                  {cluster ? <td class="mono">{s.node ?? ''}</td> : null}
                  <td>
                    <SessionState s={s} now={now} />
                  </td>
                  <td>
                    {s.queued} <span class="muted">({bytes(s.queuedBytes)})</span>
                  </td>
                  <td class={s.dropped > 0 ? 'tone-bad' : undefined}>{s.dropped}</td>
                  <td>
                    <button type="button" class="btn small danger" onClick={() => setDropping({ username, clientId: s.clientId })}>
                      End session
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {dropping ? (
        <TypedConfirm
          message={`End the MQTT session ${dropping.clientId} of ${dropping.username}? Its connection closes and its queued messages are lost.`}
          word={dropping.clientId}
          action="End session"
          onConfirm={async () => {
            const d = dropping;
            setDropping(undefined);
            try {
              await integrators.dropSession(d.username, d.clientId);
              setError(undefined);
              list.reload();
            } catch (err) {
              setError(err);
            }
          }}
          onCancel={() => setDropping(undefined)}
        />
      ) : null}
    </section>
  );
}

/** "node1: 2, node2: 1": an account's clients per node. */
function perNode(connections: { node: string }[]): string {
  const counts = new Map<string, number>();
  for (const c of connections) counts.set(c.node, (counts.get(c.node) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, n]) => `${node}: ${n}`)
    .join(', ');
}

function SessionState({ s, now }: { s: MqttSession; now: number }) {
  if (s.connected) return <Badge tone="good">connected</Badge>;
  return (
    <>
      <Badge tone="pending">away</Badge>
      {s.expiresAt === undefined ? null : <span class="muted"> ends in {span(Math.max(0, s.expiresAt - now))}</span>}
    </>
  );
}
