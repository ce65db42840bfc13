// MQTT for integrators (ARCHITECTURE.md § MQTT): the embedded aedes broker on
// --mqtt-port and at /mqtt over WebSocket, integrator accounts and ACLs, the hub's
// topics, and outbound bridges.
//
// Starting point only: the broker listens and refuses every client until the
// integrator accounts and topic bridge land.

import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HubStats } from '@halyard/firmware-protocol';
import type { HubContext } from '../context.js';
import type { Routes } from '../http/route.js';
import { rejectUpgrade } from '../net/reject-upgrade.js';

export interface MqttService {
  /** Bound MQTT TCP port. */
  port: number;
  /** Bound MQTT-over-TLS port, when TLS is configured. */
  mqttsPort: number | undefined;
  /** WebSocket upgrade on /mqtt. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  clients(): number;
  bridges(): HubStats['bridges'];
  close(): Promise<void>;
}

/** HTTP routes this feature adds (integrator accounts). */
export function mqttRoutes(_routes: Routes, _ctx: HubContext): void {}

export async function startMqtt(ctx: HubContext): Promise<MqttService> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctx.config.mqttPort, ctx.config.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    mqttsPort: undefined,
    handleUpgrade: (_req, socket) => rejectUpgrade(socket, 503, 'HUB_ERR_UNAVAILABLE', 'MQTT over WebSocket is not available yet'),
    clients: () => 0,
    bridges: () => [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
