// The hub itself: its version and uptime, connections, message rates, ACK latency,
// event-loop lag and storage over the last five minutes (the stats stream replays them,
// then adds one a second; the app keeps them across screens and hub restarts), and the
// MQTT side: clients and bridges, and for admins each account's clients and persistent
// sessions. In a cluster, every node's line (README.md, Running a cluster).

import type { HubStats, NodeStats } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { Chart, type ChartLine } from '../components/chart.tsx';
import { Empty } from '../components/empty.tsx';
import { Badge } from '../components/status.tsx';
import { bytes, reading } from '../lib/format.ts';
import { useGeneration, useNow, useUpdates } from '../lib/hooks.ts';
import { useTitle } from '../lib/title.ts';
import { useApp, useCan } from '../state/app-context.ts';
import { Batcher } from '../state/batcher.ts';
import { STATS_WINDOW_MS as WINDOW_MS } from '../state/stats-history.ts';
import { HubFacts } from './hub-facts.tsx';
import { MqttSessions } from './mqtt-sessions.tsx';

export function HubScreen() {
  useTitle('Hub');
  const { channel, hubStats } = useApp();
  const now = useNow();
  const [, setVersion] = useState(0);
  const [batcher] = useState(() => new Batcher(() => setVersion((v) => v + 1)));
  useEffect(() => channel.subscribe('stats'), [channel]);
  useEffect(() => hubStats.subscribe(() => batcher.mark()), [hubStats, batcher]);
  useUpdates(channel, 'stats', (u) => hubStats.add(u.stats));
  const generation = useGeneration(channel);
  const admin = useCan('admin');

  const h = hubStats.entries;
  const cur = h[h.length - 1];
  const facts = <HubFacts version={channel.hello?.hub.version} generation={generation} now={now} history={hubStats} />;
  if (cur === undefined)
    return (
      <>
        <h1>Hub</h1>
        {facts}
        <Empty title="Waiting for the hub's statistics…" />
      </>
    );
  const xs = h.map((s) => s.time);
  const line = (label: string, color: string, f: (s: HubStats) => number): ChartLine => ({ label, color, xs, ys: h.map(f) });
  const range: [number, number] = [now - WINDOW_MS, now];
  const charts: { title: string; unit?: string; whole?: boolean; lines: ChartLine[] }[] = [
    { title: 'Connected devices', whole: true, lines: [line('devices', 'var(--line-1)', (s) => s.connectedDevices)] },
    {
      title: 'Frames per second',
      lines: [line('in', 'var(--line-1)', (s) => s.framesInPerSec), line('out', 'var(--line-2)', (s) => s.framesOutPerSec)],
    },
    {
      title: 'ACK latency',
      unit: 'ms',
      lines: [line('p50', 'var(--line-1)', (s) => s.ackLatencyP50), line('p99', 'var(--line-2)', (s) => s.ackLatencyP99)],
    },
    { title: 'Event-loop lag', unit: 'ms', lines: [line('max lag', 'var(--line-3)', (s) => s.eventLoopLagMs)] },
    { title: 'Database size', unit: 'MiB', lines: [line('size', 'var(--line-4)', (s) => s.dbBytes / 1_048_576)] },
  ];
  return (
    <>
      <h1>Hub</h1>
      {facts}
      <div class="latest">
        <Big
          name={cur.connectedDevices === 1 ? 'device connected' : 'devices connected'}
          value={cur.connectedDevices.toLocaleString('en')}
        />
        <Big name="frames in / s" value={reading(cur.framesInPerSec)} />
        <Big name="frames out / s" value={reading(cur.framesOutPerSec)} />
        <Big name="ACK p50 / p99" value={`${reading(cur.ackLatencyP50)} / ${reading(cur.ackLatencyP99)} ms`} />
        <Big name="event-loop lag" value={`${reading(cur.eventLoopLagMs)} ms`} />
        <Big name="database" value={bytes(cur.dbBytes)} />
        <Big name={cur.consoles === 1 ? 'console' : 'consoles'} value={cur.consoles.toLocaleString('en')} />
        <Big name={cur.mqttClients === 1 ? 'MQTT client' : 'MQTT clients'} value={cur.mqttClients.toLocaleString('en')} />
      </div>
      <div class="grid-2" data-testid="hub-stats" data-first={h[0]?.time} data-count={h.length}>
        {charts.map((c) => (
          <div key={c.title} class="chart-block panel">
            <h3>
              {c.title} {c.unit ? <span class="muted">{c.unit}</span> : null}
            </h3>
            <Chart
              label={`${c.title} over the last five minutes`}
              lines={c.lines}
              range={range}
              syncKey="hub"
              height={140}
              {...(c.unit ? { unit: c.unit } : {})}
              {...(c.whole ? { decimals: 0 } : {})}
            />
          </div>
        ))}
      </div>
      {cur.nodes === undefined ? null : <Nodes nodes={cur.nodes} self={cur.node} />}
      <h2>MQTT bridges</h2>
      {cur.bridges.length === 0 ? (
        <p class="muted">No outbound bridges are configured (start the hub with --bridge mqtt://host to add one).</p>
      ) : (
        <div class="scroll-x">
          <table class="list">
            <thead>
              <tr>
                <th>Broker</th>
                <th>State</th>
                <th>Queued</th>
                <th>Dropped</th>
              </tr>
            </thead>
            <tbody>
              {cur.bridges.map((b) => (
                <tr key={b.url}>
                  <td class="mono">{b.url}</td>
                  <td>
                    <Badge
                      tone={b.state === 'connected' ? 'good' : b.state === 'connecting' || b.state === 'reconnecting' ? 'pending' : 'bad'}
                    >
                      {b.state}
                    </Badge>
                  </td>
                  <td>{b.queued}</td>
                  <td class={b.dropped > 0 ? 'tone-bad' : undefined}>{b.dropped}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {admin ? <MqttSessions now={now} /> : null}
    </>
  );
}

/** The cluster's nodes as each last reported itself (a node that stops reporting drops off within seconds). */
function Nodes({ nodes, self }: { nodes: NodeStats[]; self: string | undefined }) {
  return (
    <>
      <h2>Cluster nodes</h2>
      <div class="scroll-x">
        <table class="list" data-testid="hub-nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>Role</th>
              <th>Devices</th>
              <th>Consoles</th>
              <th>MQTT clients</th>
              <th>Frames in / out per s</th>
              <th>ACK p99</th>
              <th>Event-loop lag</th>
              <th>Redis</th>
              <th>PostgreSQL</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.node}>
                <td class="mono">
                  {n.node} {n.node === self ? <span class="muted">(this page)</span> : null}
                </td>
                <td>{n.leader ? <Badge tone="good">leader</Badge> : 'follower'}</td>
                <td>{n.connectedDevices}</td>
                <td>{n.consoles}</td>
                <td>{n.mqttClients}</td>
                <td>
                  {reading(n.framesInPerSec)} / {reading(n.framesOutPerSec)}
                </td>
                <td>{reading(n.ackLatencyP99)} ms</td>
                <td>{reading(n.eventLoopLagMs)} ms</td>
                <td>{n.redis ? <Badge tone="good">up</Badge> : <Badge tone="bad">down</Badge>}</td>
                <td>{n.postgres ? <Badge tone="good">up</Badge> : <Badge tone="bad">down</Badge>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Big({ name, value }: { name: string; value: string }) {
  return (
    <div class="big panel">
      <div class="value">{value}</div>
      <div class="name">{name}</div>
    </div>
  );
}
