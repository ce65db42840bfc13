// Credentials: rotate the token (the old one stops at once; the new one is shown once),
// revoke the device, or delete it; each asks for the device id to be typed first.

import type { DeviceInfo } from '@halyard/firmware-protocol';
import { useRef, useState } from 'preact/hooks';
import { devices } from '../../api/endpoints.ts';
import { TypedConfirm } from '../../components/confirm.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { TokenPanel } from '../../components/token-panel.tsx';
import { flash } from '../../lib/flash.ts';
import { navigate } from '../../lib/router.tsx';
import { useCan } from '../../state/app-context.ts';

type Asking = 'rotate' | 'revoke' | 'delete' | undefined;

export function CredentialsTab({ device }: { device: DeviceInfo }) {
  const isAdmin = useCan('admin');
  const [asking, setAsking] = useState<Asking>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [token, setToken] = useState<string | undefined>(undefined);
  const tokenButton = useRef<HTMLButtonElement>(null);
  const id = device.id;

  const run = async (what: Exclude<Asking, undefined>) => {
    setBusy(true);
    setError(undefined);
    try {
      if (what === 'rotate') setToken((await devices.rotate(id, device.revoked)).token);
      else if (what === 'revoke') {
        await devices.revoke(id);
        // The focus goes to what can be done next: reinstating.
        requestAnimationFrame(() => tokenButton.current?.focus());
      } else {
        await devices.remove(id);
        // The page it was on is gone: the fleet says it was done.
        flash(`Deleted the device ${id}; its telemetry, events and commands are gone with it.`, '/fleet');
        navigate('/fleet');
        return;
      }
      setAsking(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const confirm = (what: Exclude<Asking, undefined>, message: string, action: string) =>
    asking === what ? (
      <TypedConfirm
        message={message}
        word={id}
        action={action}
        busy={busy}
        onConfirm={() => void run(what)}
        onCancel={() => setAsking(undefined)}
      />
    ) : null;

  return (
    <section aria-label="Credentials">
      {token ? <TokenPanel id={id} token={token} title={`New token for ${id}`} /> : null}
      <h2>Token</h2>
      <p>
        {device.revoked
          ? 'This device is revoked: it cannot connect. A new token reinstates it.'
          : 'Rotating makes a new token and ends the device\u2019s session: the old token stops working at once.'}
      </p>
      <button ref={tokenButton} type="button" class="btn" onClick={() => setAsking('rotate')} disabled={asking !== undefined}>
        {device.revoked ? 'Reinstate with a new token' : 'Rotate token'}
      </button>
      {confirm(
        'rotate',
        device.revoked
          ? `Reinstate ${id} with a new token? It can connect again once it has the token.`
          : `Rotate the token of ${id}? The device is disconnected and cannot reconnect until it has the new token.`,
        device.revoked ? 'Reinstate' : 'Rotate token',
      )}
      {device.revoked ? null : (
        <>
          <h2>Revoke</h2>
          <p>Revoking disconnects the device at once and refuses it from then on. Its data stays.</p>
          <button type="button" class="btn danger" onClick={() => setAsking('revoke')} disabled={asking !== undefined}>
            Revoke device
          </button>
          {confirm('revoke', `Revoke ${id}? It is disconnected now and cannot connect again until reinstated.`, 'Revoke device')}
        </>
      )}
      {isAdmin ? (
        <>
          <h2>Delete</h2>
          <p>Deleting removes the device with its telemetry, events, commands and twin. This cannot be undone.</p>
          <button type="button" class="btn danger" onClick={() => setAsking('delete')} disabled={asking !== undefined}>
            Delete device
          </button>
          {confirm('delete', `Delete ${id} and all its data? This cannot be undone.`, 'Delete device')}
        </>
      ) : null}
      <ErrorText error={error} />
    </section>
  );
}
