// A free TCP port on 127.0.0.1, for engines started by tests (they take a port
// number, not port 0). Another process may take it before the engine binds: the
// engine helpers treat "address in use" at start as a reason to try another port.

import { createServer } from 'node:net';

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
