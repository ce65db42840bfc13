// Home Assistant discovery on the embedded broker: one retained config per metric,
// checked field by field; units and device classes from SenML; device info from
// HELLO; the birth message replays everything; a deleted device's configs clear.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';

describe('Home Assistant discovery', () => {
  let t: TestHub;
  let ha: TestMqtt;
  let token: string;
  before(async () => {
    t = await startTestHub(['--ha-discovery']);
    // Home Assistant logs in like any integrator; with discovery on, the default ACL covers its prefix.
    await createIntegrator(t.api, 'hass', 'hass-password');
    token = await t.api.provision('ha-dev.1', { name: 'Living room' });
    ha = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'hass', password: 'hass-password' });
    await ha.subscribe('homeassistant/#', 'halyard/devices/+/cmd/+/status');
  });
  after(async () => {
    await ha.close();
    await t.close();
  });

  const node = 'halyard_ha-dev_1_' as const;

  it('announces a sensor per metric, field by field', async () => {
    const d = await TestDevice.connect(t.ws, token, { model: 'TH-2', fw: '2.4.1' });
    await d.waitAck(
      d.telemetry([
        { n: 'temperature', u: 'Cel', v: 21.5 },
        { n: 'rssi', u: 'dBm', v: -60 },
        { n: 'door', vb: true },
        { n: 'mode', vs: 'eco' },
        { n: 'odd.unit', u: 'furlong', v: 1 },
      ]),
    );
    await ha.until(() => ha.received.filter((m) => m.topic.endsWith('/config')).length >= 5, 'five configs');
    const configs = new Map(ha.received.map((m) => [m.topic, m]));
    const topics = [...configs.keys()].sort();
    const nodeId = topics[0]?.split('/')[2] ?? '';
    assert.match(nodeId, new RegExp(`^${node}[0-9a-f]{6}$`), 'a dot in the id is replaced, with a hash against collisions');
    assert.deepStrictEqual(topics, [
      `homeassistant/binary_sensor/${nodeId}/door/config`,
      `homeassistant/sensor/${nodeId}/mode/config`,
      `homeassistant/sensor/${nodeId}/odd_unit_${topics[2]?.split('/')[3]?.slice(-6)}/config`,
      `homeassistant/sensor/${nodeId}/rssi/config`,
      `homeassistant/sensor/${nodeId}/temperature/config`,
    ]);
    // Retained: a client subscribing later gets them all.
    const late = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'hass', password: 'hass-password' });
    await late.subscribe('homeassistant/#');
    await late.until(() => late.received.length >= 5, 'five retained configs');
    assert.deepStrictEqual(
      late.received.map((m) => [m.topic, m.retain]).sort(),
      topics.map((topic) => [topic, true]),
    );
    await late.close();

    const t1 = JSON.parse(configs.get(`homeassistant/sensor/${nodeId}/temperature/config`)?.text ?? '{}');
    const device = { identifiers: [nodeId], name: 'Living room', model: 'TH-2', sw_version: '2.4.1' };
    assert.deepStrictEqual(t1, {
      name: 'temperature',
      unique_id: `${nodeId}_temperature`,
      state_topic: 'halyard/devices/ha-dev.1/telemetry',
      value_template: "{% set r = value_json | selectattr('n', 'eq', 'temperature') | list %}{{ r[-1].v if r else '' }}",
      unit_of_measurement: '°C',
      device_class: 'temperature',
      state_class: 'measurement',
      availability: [{ topic: 'halyard/devices/ha-dev.1/status' }, { topic: 'halyard/hub/status' }],
      availability_mode: 'all',
      payload_available: 'online',
      payload_not_available: 'offline',
      device,
      origin: { name: 'Halyard', sw_version: '0.1.0' },
    });
    const rssi = JSON.parse(configs.get(`homeassistant/sensor/${nodeId}/rssi/config`)?.text ?? '{}');
    assert.deepStrictEqual([rssi.unit_of_measurement, rssi.device_class, rssi.state_class], ['dBm', 'signal_strength', 'measurement']);
    const door = JSON.parse(configs.get(`homeassistant/binary_sensor/${nodeId}/door/config`)?.text ?? '{}');
    assert.equal(
      door.value_template,
      "{% set r = value_json | selectattr('n', 'eq', 'door') | list %}{{ ('ON' if r[-1].vb else 'OFF') if r else '' }}",
    );
    assert.deepStrictEqual(
      [door.payload_on, door.payload_off, door.unit_of_measurement, door.state_class],
      ['ON', 'OFF', undefined, undefined],
    );
    assert.deepStrictEqual(door.device, device);
    const mode = JSON.parse(configs.get(`homeassistant/sensor/${nodeId}/mode/config`)?.text ?? '{}');
    assert.equal(mode.value_template, "{% set r = value_json | selectattr('n', 'eq', 'mode') | list %}{{ r[-1].vs if r else '' }}");
    assert.deepStrictEqual([mode.unit_of_measurement, mode.device_class, mode.state_class], [undefined, undefined, undefined]);
    const odd = [...configs.values()].find((m) => m.topic.includes('/odd_unit_'));
    const oddConfig = JSON.parse(odd?.text ?? '{}');
    assert.deepStrictEqual([oddConfig.name, oddConfig.unit_of_measurement, oddConfig.device_class], ['odd.unit', 'furlong', undefined]);

    // The same metrics again announce nothing new.
    const count = ha.received.filter((m) => m.topic.startsWith('homeassistant/')).length;
    await d.waitAck(d.telemetry([{ n: 'temperature', u: 'Cel', v: 22 }]));
    // Anything the hub published meanwhile would arrive before this round trip's answer.
    await ha.publish('halyard/devices/ha-dev.1/cmd/noop', '{"ttl":"1s"}');
    await ha.next('halyard/devices/ha-dev.1/cmd/noop/status');
    assert.equal(ha.received.filter((m) => m.topic.startsWith('homeassistant/')).length, count);
    await d.close();
  });

  it("announces again when the device's firmware changes", async () => {
    const from = ha.received.length;
    const d = await TestDevice.connect(t.ws, token, { model: 'TH-2', fw: '2.5.0' });
    await ha.until(() => ha.received.slice(from).filter((m) => m.topic.endsWith('/config')).length >= 5, 'five configs again');
    for (const m of ha.received.slice(from)) assert.equal(JSON.parse(m.text).device.sw_version, '2.5.0');
    await d.close();
  });

  it("replays every config on Home Assistant's birth message", async () => {
    const from = ha.received.length;
    await ha.publish('homeassistant/status', 'online', { qos: 1 });
    await ha.until(() => ha.received.slice(from).filter((m) => m.topic.endsWith('/config')).length >= 5, 'five configs replayed');
    assert.equal(ha.closed, false, 'publishing the birth message is allowed');
  });

  it("clears a deleted device's configs", async () => {
    const from = ha.received.length;
    assert.equal((await t.api.delete('/devices/ha-dev.1')).status, 204);
    await ha.until(() => ha.received.slice(from).filter((m) => m.topic.endsWith('/config') && m.text === '').length >= 5, 'five clears');
    const late = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'hass', password: 'hass-password' });
    await late.subscribe('homeassistant/#', 'halyard/hub/status');
    await late.next('halyard/hub/status');
    assert.deepStrictEqual(
      late.received.filter((m) => m.topic.startsWith('homeassistant/')),
      [],
    );
    await late.close();
  });

  it('announces metrics already in the store after a restart', async () => {
    const tok = await t.api.provision('ha-kept');
    const d = await TestDevice.connect(t.ws, tok, { model: 'M', fw: '1' });
    await d.waitAck(d.telemetry([{ n: 'level', u: '%', v: 50 }]));
    await d.close();
    const dir = t.dir;
    await ha.close();
    await t.stop();
    t = await startTestHub(['--ha-discovery'], dir);
    ha = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'hass', password: 'hass-password' });
    await ha.subscribe('homeassistant/#');
    const m = await ha.next('homeassistant/sensor/halyard_ha-kept/level/config', () => true, 0, 10_000);
    assert.deepStrictEqual(JSON.parse(m.text).device, { identifiers: ['halyard_ha-kept'], name: 'ha-kept', model: 'M', sw_version: '1' });
  });
});
