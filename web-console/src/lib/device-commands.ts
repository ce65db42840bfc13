// What to run with a freshly shown device token. None of it holds the secret: it goes
// to a file (downloaded from the panel) or a pipe, never onto a command line where the
// shell history and `ps` would keep it.

/** ws[s]://host of the hub this console was served from. */
export function hubWs(loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}`;
}

/** The file name the panel downloads the token as. */
export function tokenFileName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.token`;
}

/** The simulator reading the downloaded token file (`npx` finds the workspace's bin in a checkout). */
export function simCommand(id: string, hub = hubWs()): string {
  return `npx halyard-sim --hub ${hub} --token-file ${tokenFileName(id)}`;
}

/** The simulator reading the token from stdin: paste it, then Ctrl-D. */
export function simStdinCommand(hub = hubWs()): string {
  return `npx halyard-sim --hub ${hub} --token -`;
}

/** A minimal device in Node: connect, say HELLO, send one reading, print what comes back. */
export function connectSnippet(id: string, hub = hubWs()): string {
  return `// Node 20+, with ws and @halyard/firmware-protocol (a Halyard checkout has both; elsewhere install
// the packed protocol tarball, see device-sim's README). The wire protocol: firmware-protocol/SPEC.md.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { decode, encode, MessageType } from '@halyard/firmware-protocol';

const token = readFileSync('${tokenFileName(id)}', 'utf8').trim();
const ws = new WebSocket('${hub}/v1/device', 'halyard.v1', { headers: { authorization: \`Bearer \${token}\` } });
ws.on('open', () => ws.send(encode({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'my-model' })));
ws.on('message', (data) => {
  const r = decode(new Uint8Array(data));
  if (!r.ok) return console.error(r.error);
  console.log(r.message);
  // After WELCOME: one reading (SenML); the hub ACKs it by seq.
  if (r.message.type === MessageType.Welcome)
    ws.send(encode({ type: MessageType.Telemetry, seq: 1, pack: [{ n: 'temperature', u: 'Cel', v: 21.5 }] }));
});`;
}
