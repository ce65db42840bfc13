// A device token, shown once (the hub keeps only its hash), with what to do with it:
// copy it, run a simulated device with it, or connect real firmware.

import { CopyButton } from './copy-button.tsx';

function hubWs(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

export function simCommand(_id: string, token: string): string {
  return `npm run sim -- --hub ${hubWs()} --token ${token}`;
}

export function connectSnippet(token: string): string {
  return `// Node 20+: npm install ws @halyard/firmware-protocol
import WebSocket from 'ws';
import { decode, encode, MessageType } from '@halyard/firmware-protocol';

const ws = new WebSocket('${hubWs()}/v1/device', 'halyard.v1', {
  headers: { authorization: 'Bearer ${token}' },
});
ws.on('open', () => ws.send(encode({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'my-model' })));
ws.on('message', (data) => console.log(decode(new Uint8Array(data))));`;
}

export function TokenPanel({ id, token, title }: { id: string; token: string; title: string }) {
  return (
    <section class="panel" aria-label="Device token" style={{ maxWidth: '760px' }}>
      <h2 style={{ marginTop: 0 }}>{title}</h2>
      <p class="notice" role="alert">
        This token is shown only once: the hub keeps just a hash of it. Copy it now. If it is lost, rotate the token from the device's
        Credentials tab.
      </p>
      <div class="row">
        <code class="block" data-testid="device-token" style={{ padding: '6px 8px', wordBreak: 'break-all' }}>
          {token}
        </code>
        <CopyButton text={token} label="Copy token" />
      </div>
      <h3>Run a simulated device with it</h3>
      <pre class="block" data-testid="sim-command">
        {simCommand(id, token)}
      </pre>
      <CopyButton text={simCommand(id, token)} label="Copy command" />
      <h3>Or connect your own firmware</h3>
      <pre class="block">{connectSnippet(token)}</pre>
      <CopyButton text={connectSnippet(token)} label="Copy snippet" />
    </section>
  );
}
