// A console-channel test client: a real ws client that speaks SPEC.md §10, decodes
// every hub message with the protocol's strict decoder (so a non-conforming message
// fails the test), records them, and waits on events, never on sleeps.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CONSOLE_LIMITS,
  CONSOLE_SUBPROTOCOL,
  type ConsoleUpdate,
  decodeCbor,
  type Encodable,
  encodeCbor,
} from '@halyard/firmware-protocol';
import WebSocket from 'ws';
import { ConsoleGateway, type ConsoleGatewayOptions } from '../src/console/gateway.js';
import { HubStatsTracker } from '../src/stats.js';
import { StatsFeed } from '../src/stats-feed.js';
import type { TestHub } from './helpers/hub.js';

/** Hub -> console messages may be far larger than console -> hub ones (a 5,000-device snapshot). */
const INBOUND_LIMITS = { ...CONSOLE_LIMITS, maxFrame: 64 << 20, maxItems: 1_000_000 };

export interface ConsoleClientOptions {
  token?: string;
  cookie?: string;
  origin?: string;
  protocols?: string[];
  /** Connect from this local address (a loopback one, to play another machine). */
  localAddress?: string;
}

export class ConsoleClient {
  readonly received: ConsoleUpdate[] = [];
  closed: { code: number; reason: string } | undefined;
  private readonly waiters = new Set<() => void>();
  private req = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) throw new Error('the hub sent a text frame');
      const r = decodeCbor(new Uint8Array(data), INBOUND_LIMITS);
      if (!r.ok) throw new Error(`the hub sent invalid CBOR: ${r.error.message}`);
      this.received.push(r.value as unknown as ConsoleUpdate);
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    ws.on('error', () => this.notify());
  }

  /** Opens the channel; rejects with `status` and `body` when the upgrade is refused. */
  static open(base: string, o: ConsoleClientOptions = {}): Promise<ConsoleClient> {
    const headers: Record<string, string> = {};
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    if (o.cookie !== undefined) headers.cookie = o.cookie;
    if (o.origin !== undefined) headers.origin = o.origin;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base}/v1/console`, o.protocols ?? [CONSOLE_SUBPROTOCOL], {
        headers,
        ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }),
      });
      const client = new ConsoleClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(encodeCbor(message as Encodable));
  }

  /** Sends an action with a fresh `req` and resolves with its reply. */
  async request(message: Record<string, unknown>, timeoutMs = 5_000): Promise<Extract<ConsoleUpdate, { t: 'reply' }>> {
    const req = ++this.req;
    const from = this.received.length;
    this.send({ ...message, req });
    return (await this.waitFor((m) => m.t === 'reply' && m.req === req, timeoutMs, from)) as Extract<ConsoleUpdate, { t: 'reply' }>;
  }

  until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        const seen = this.received.map((m) => m.t).slice(-30);
        reject(new Error(`timed out waiting for ${what}; last received ${JSON.stringify(seen)}, closed ${JSON.stringify(this.closed)}`));
      }, timeoutMs);
      const w = () => {
        if (check()) {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve();
        }
      };
      this.waiters.add(w);
    });
  }

  /** The first message from `fromIndex` on that matches. */
  async waitFor(pred: (m: ConsoleUpdate) => boolean, timeoutMs = 5_000, fromIndex = 0): Promise<ConsoleUpdate> {
    let found: ConsoleUpdate | undefined;
    await this.until(
      () => {
        found = this.received.slice(fromIndex).find(pred);
        return found !== undefined;
      },
      'a matching console message',
      timeoutMs,
    );
    return found as ConsoleUpdate;
  }

  waitClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed !== undefined, 'close', timeoutMs).then(() => this.closed as { code: number; reason: string });
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    this.ws.close(1000);
    return this.waitClosed();
  }
}

/**
 * A second console gateway on a test hub's context, on its own port, with options the
 * hub's own gateway does not take (small thresholds, fast refreshes), so tests need
 * milliseconds and kilobytes instead of the production seconds and megabytes.
 */
export async function gatewayServer(t: TestHub, options: Partial<ConsoleGatewayOptions>) {
  const feed = new StatsFeed();
  const gw = new ConsoleGateway(t.hub.ctx, feed, { rate: { perSecond: 100_000, burst: 100_000 }, ...options });
  const tracker = new HubStatsTracker(t.hub.ctx, feed, { mqttClients: () => 0, consoles: () => gw.connections, bridges: () => [] });
  const server: Server = createServer((_req, res) => res.end());
  server.on('upgrade', (req, socket, head) => gw.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    gw,
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await gw.close();
      tracker.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
