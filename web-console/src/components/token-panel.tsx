// A device token, shown once (the hub keeps only its hash), with what to do with it:
// copy or download it, run a simulated device with it, or connect real firmware. The
// commands read the token from a file or stdin, so it never sits on a command line.

import { useEffect, useRef } from 'preact/hooks';
import { connectSnippet, simCommand, simStdinCommand, tokenFileName } from '../lib/device-commands.ts';
import { CopyButton } from './copy-button.tsx';

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // The click has started the download; the URL is not needed after this turn.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function TokenPanel({ id, token, title }: { id: string; token: string; title: string }) {
  const file = tokenFileName(id);
  // It appears after the operator's action (create, rotate): the focus moves to it, so
  // keyboard and screen-reader users land on the token, not at the top of the page.
  const heading = useRef<HTMLHeadingElement>(null);
  // Dependencies: a new token is a new panel to move to
  useEffect(() => heading.current?.focus(), [token]);
  return (
    <section class="panel" aria-label="Device token" style={{ maxWidth: '760px' }}>
      <h2 ref={heading} tabIndex={-1} style={{ marginTop: 0 }}>
        {title}
      </h2>
      <p class="notice" role="alert">
        This token is shown only once: the hub keeps just a hash of it. Copy or download it now. If it is lost, rotate the token from the
        device's Credentials tab.
      </p>
      <div class="row">
        <code class="block" data-testid="device-token" style={{ padding: '6px 8px', wordBreak: 'break-all' }}>
          {token}
        </code>
        <CopyButton text={token} label="Copy token" />
        <button type="button" class="btn small" onClick={() => download(file, token)}>
          Download {file}
        </button>
      </div>
      <h3>Run a simulated device with it</h3>
      <p class="muted">
        Save the token as <code>{file}</code> in the current directory, then run the simulator (<code>npx halyard-sim</code> in a Halyard
        checkout after <code>npm run build</code>; elsewhere install it as device-sim's README says):
      </p>
      <pre class="block" data-testid="sim-command">
        {simCommand(id)}
      </pre>
      <CopyButton text={simCommand(id)} label="Copy command" />
      <p class="muted">Or paste the token on stdin (then Ctrl-D):</p>
      <pre class="block" data-testid="sim-stdin-command">
        {simStdinCommand()}
      </pre>
      <h3>Or connect your own firmware</h3>
      <p class="muted">
        WebSocket to <code>/v1/device</code>, subprotocol <code>halyard.v1</code>, <code>Authorization: Bearer &lt;token&gt;</code>, CBOR
        frames (firmware-protocol's SPEC.md). In Node:
      </p>
      <pre class="block" data-testid="connect-snippet">
        {connectSnippet(id)}
      </pre>
      <CopyButton text={connectSnippet(id)} label="Copy snippet" />
    </section>
  );
}
