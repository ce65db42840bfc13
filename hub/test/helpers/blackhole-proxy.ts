// A TCP relay to a server (here PostgreSQL) that can go dark: `blackhole()` makes it
// a host that no longer answers, as when a network drops packets. Bytes on open
// connections go nowhere and closes are not passed on (no FIN, no RST reaches
// either side); new connections are taken and never answered. `restore()` is the
// network back with the server having given up on the old connections: those are
// reset, new ones relay again. Listens on 127.0.0.1, port 0.

import { createServer, type Server, Socket } from 'node:net';

export interface BlackholeProxy {
  readonly port: number;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  let dark = false;
  /** Every socket of this relay, both sides, to reset on restore and close. */
  const sockets = new Set<Socket>();
  /** Sockets taken or stranded while dark. */
  const stranded = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // A reset while dark or on restore is the point, not a failure.
    s.on('error', () => {});
  };
  const server: Server = createServer((client) => {
    track(client);
    if (dark) {
      client.pause();
      stranded.add(client);
      return;
    }
    const upstream = new Socket();
    track(upstream);
    upstream.connect(target.port, target.host);
    const relay = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (!dark) to.write(chunk);
      });
      from.on('end', () => {
        if (!dark) to.end();
      });
      from.on('close', () => {
        if (!dark) to.destroy();
      });
    };
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    blackhole() {
      dark = true;
      for (const s of sockets) stranded.add(s);
    },
    restore() {
      dark = false;
      for (const s of stranded) s.resetAndDestroy();
      stranded.clear();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
