// Baseline of the firmware benchmark: a bare ws server that does only the hub's part
// of SPEC.md §12 a device sees, from memory: WELCOME, the offer, every CHUNK asked
// for, an ACK for every sequenced message, and it counts the devices that come back
// running the new version. No store, no API, no signature. The ceiling for serving
// an image to the same simulated devices on this machine.
//
//   argv: <image size> <version>   stdout: {"event":"listening","port":N}
//   stdin: {"cmd":"offer"}: offer the image to every device connected, and to those
//   that connect later; {"cmd":"count"} -> {"event":"count","done":N}

import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { decode, encode, MessageType, UpdateLimits } from '@halyard/firmware-protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { firmwareImage } from './firmware-image.js';

const size = Number(process.argv[2]);
const version = process.argv[3] as string;
const image = firmwareImage(size);
const sha256 = createHash('sha256').update(image).digest();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1 << 20 });
let done = 0;
let offering = false;
const waiting = new Map<WebSocket, string>();
const offer = (ws: WebSocket, model: string) =>
  ws.send(encode({ type: MessageType.UpdateOffer, job: 'u-baseline', model, fw: version, size, sha256, chunk: UpdateLimits.maxChunk }));
wss.on('connection', (ws) => {
  ws.on('close', () => waiting.delete(ws));
  ws.on('message', (data: Buffer) => {
    const r = decode(data, { accept: 'uplink' });
    if (!r.ok) return;
    const m = r.message;
    if (m.type === MessageType.Hello) {
      ws.send(encode({ type: MessageType.Welcome, acked: 0, ping: 30, maxFrame: 65536, time: Date.now(), session: 'baseline' }));
      if (m.fw === version) done++;
      else if (offering) offer(ws, m.model);
      else waiting.set(ws, m.model);
    } else if (m.type === MessageType.ChunkRequest) {
      ws.send(encode({ type: MessageType.Chunk, job: m.job, offset: m.offset, data: image.subarray(m.offset, m.offset + m.length) }));
    } else if (
      m.type === MessageType.Telemetry ||
      m.type === MessageType.Reported ||
      m.type === MessageType.Event ||
      m.type === MessageType.UpdateStatus
    ) {
      ws.send(encode({ type: MessageType.Ack, seq: m.seq }));
    }
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
  if (msg.cmd === 'offer') {
    offering = true;
    for (const [ws, model] of waiting) offer(ws, model);
    waiting.clear();
  }
  if (msg.cmd === 'count') process.stdout.write(`${JSON.stringify({ event: 'count', done })}\n`);
  if (msg.cmd === 'stop') process.exit(0);
});
