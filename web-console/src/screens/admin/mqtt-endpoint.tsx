// Where an integrator connects: the hub's MQTT host and ports, next to where the
// account is created, so the admin can hand over everything at once.

import type { MqttEndpoint } from '../../api/endpoints.ts';

export function MqttEndpointPanel({ at }: { at: MqttEndpoint | undefined }) {
  // An older hub does not say; its README has the defaults.
  if (at === undefined) return null;
  const host = location.hostname;
  const wsScheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return (
    <section class="panel" aria-label="MQTT endpoint" data-testid="mqtt-endpoint">
      <h2 style={{ marginTop: 0 }}>Connect over MQTT</h2>
      <dl class="kv">
        <dt>MQTT (TCP)</dt>
        <dd class="mono">
          mqtt://{host}:{at.port}
        </dd>
        {at.tlsPort === undefined ? null : (
          <>
            <dt>MQTT over TLS</dt>
            <dd class="mono">
              mqtts://{host}:{at.tlsPort}
            </dd>
          </>
        )}
        <dt>MQTT over WebSocket</dt>
        <dd class="mono">
          {wsScheme}://{location.host}
          {at.wsPath}
        </dd>
        <dt>Topic prefix</dt>
        <dd class="mono">{at.prefix}/</dd>
      </dl>
      <p class="muted">Log in with the integrator's username and password; the ACL below says what it may read and send.</p>
    </section>
  );
}
