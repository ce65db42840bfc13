// Baseline (a) of the ingest benchmark: a bare ws server that answers HELLO with a
// WELCOME (so the same load generator can drive it), then only decodes each CBOR
// message and counts it. The ceiling for any hub's socket path on this machine.
//
//   stdout: {"event":"listening","port":N}   stdin: {"cmd":"count"} -> {"event":"count","messages":N}

import { createInterface } from 'node:readline';
import { decode, encode, MessageType } from '@halyard/firmware-protocol';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1 << 20 });
let messages = 0;
wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer) => {
    const r = decode(data, { accept: 'uplink' });
    if (!r.ok) return;
    if (r.message.type === MessageType.Hello) {
      ws.send(encode({ type: MessageType.Welcome, acked: 0, ping: 30, maxFrame: 65536, time: Date.now(), session: 'baseline' }));
      return;
    }
    messages++;
  });
  ws.on('error', () => {});
});
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`,
  );
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line) as { cmd: string };
  if (msg.cmd === 'count') process.stdout.write(`${JSON.stringify({ event: 'count', messages })}\n`);
  if (msg.cmd === 'stop') process.exit(0);
});
