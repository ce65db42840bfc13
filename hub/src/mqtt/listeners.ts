// Where MQTT clients connect: plain TCP on --mqtt-port, TLS on --mqtts-port when
// the hub has a certificate, and WebSocket at /mqtt on the HTTP port (upgrades
// arrive from the hub's HTTP server).

import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import type { HubContext } from '../context.js';
import { HubError, HubErrorCode } from '../errors.js';
import { requestClient, trustedProxies } from '../net/client-address.js';
import { acceptProxied } from '../net/proxy-protocol.js';
import { answerHandshakeErrors, logRefusal, rejectUpgrade } from '../net/reject-upgrade.js';
import { maxPacketBytes } from './broker.js';

/** Most MQTT connections at once, per listener (integrators are services, not devices). */
export const MAX_MQTT_CONNECTIONS = 1_000;

/** WebSocket subprotocols of MQTT (3.1.1 §6: "mqtt"; "mqttv3.1" for older clients). */
const WS_PROTOCOLS = ['mqtt', 'mqttv3.1'];

export type Accept = (stream: Duplex, ip: string, req?: IncomingMessage, extraBacklog?: () => number) => void;
/** Takes a slot among the connections `ip` may have not logged in yet; undefined when none is left. */
export type HoldPending = (ip: string) => (() => void) | undefined;

export interface Listeners {
  port: number;
  mqttsPort: number | undefined;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops listening and ends every connection, including those that never sent CONNECT. */
function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of sockets) s.destroy();
  return closed;
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

export async function startListeners(ctx: HubContext, accept: Accept, holdPending: HoldPending): Promise<Listeners> {
  const { config, log } = ctx;
  const proxies = trustedProxies(config);
  // From --trusted-proxies, a PROXY protocol header names the client (net/proxy-protocol.ts).
  const proxied = {
    trusts: (peer: string | undefined) => proxies.trusts(peer),
    timeoutMs: config.mqttConnectTimeout,
    refused: (ip: string | undefined, reason: string) => log.info({ ip }, `mqtt connection refused: ${reason}`),
  };
  const tcp = createServer({ noDelay: true }, (socket: Socket) => acceptProxied(socket, proxied, accept));
  tcp.maxConnections = MAX_MQTT_CONNECTIONS;
  const tcpSockets = track(tcp);
  const port = await listen(tcp, config.mqttPort, config.host);

  let tls: Server | undefined;
  let tlsSockets = new Set<Socket>();
  let mqttsPort: number | undefined;
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    // A TLS connection reaches the broker only once its handshake is done; until then it
    // holds a slot of its address all the same, and gets the broker's CONNECT deadline
    // (Node's default is 120 s), or silent sockets could fill this listener.
    const handshaking = new Map<string, () => void>();
    const peer = (s: Socket) => `${s.remoteAddress}:${s.remotePort}`;
    tls = createTlsServer(
      { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey), handshakeTimeout: config.mqttConnectTimeout },
      (socket: TLSSocket) => {
        handshaking.get(peer(socket))?.();
        accept(socket, socket.remoteAddress ?? 'unknown');
      },
    );
    tls.maxConnections = MAX_MQTT_CONNECTIONS;
    tlsSockets = track(tls);
    tls.on('connection', (raw: Socket) => {
      const release = holdPending(raw.remoteAddress ?? 'unknown');
      if (release === undefined) {
        raw.destroy();
        return;
      }
      const key = peer(raw);
      handshaking.set(key, release);
      raw.once('close', () => {
        release();
        if (handshaking.get(key) === release) handshaking.delete(key);
      });
    });
    tls.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
        log.info(
          { ip: socket.remoteAddress, timeoutMs: config.mqttConnectTimeout },
          'mqtts connection did not finish its TLS handshake in time: closed',
        );
        // Node reports the handshake timeout but leaves the socket open.
        socket.destroy();
        return;
      }
      log.debug({ err: err.message }, 'mqtts handshake failed');
    });
    mqttsPort = await listen(tls, config.mqttsPort, config.host);
  }

  const wss = new WebSocketServer({
    noServer: true,
    // One MQTT packet may span several WebSocket messages; the packet guard bounds packets, this bounds messages.
    maxPayload: maxPacketBytes(config.maxFrame),
    perMessageDeflate: false,
    handleProtocols: (offered) => WS_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  answerHandshakeErrors(wss, log, 'mqtt');
  let wsClients = 0;

  return {
    port,
    mqttsPort,
    handleUpgrade(req, socket, head) {
      if (wsClients >= MAX_MQTT_CONNECTIONS) {
        const refusal = new HubError(HubErrorCode.Unavailable, 'too many MQTT connections');
        logRefusal(log, 'mqtt', req, refusal);
        rejectUpgrade(socket, refusal);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        wsClients++;
        ws.once('close', () => wsClients--);
        const stream = createWebSocketStream(ws);
        accept(stream, requestClient(req), req, () => ws.bufferedAmount);
      });
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await Promise.all([closeServer(tcp, tcpSockets), ...(tls === undefined ? [] : [closeServer(tls, tlsSockets)])]);
    },
  };
}
