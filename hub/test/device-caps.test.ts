// What a device declares in HELLO `caps` (SPEC.md §5.1) is kept and shown in the
// device API: the latest HELLO's list, as declared, across restarts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('device caps', () => {
  let t: TestHub;
  let token: string;
  before(async () => {
    t = await startTestHub();
    token = await t.api.provision('capped');
  });
  after(() => t.close());

  it('GET /devices/:id and the list show the caps of the last HELLO; [] before any', async () => {
    assert.deepEqual((await t.api.get('/devices/capped')).body.caps, []);
    const d = await TestDevice.connect(t.ws, token, { caps: ['twin', 'cmd:reboot', 'cmd:set-mode'] });
    assert.deepEqual((await t.api.get('/devices/capped')).body.caps, ['twin', 'cmd:reboot', 'cmd:set-mode']);
    const items = (await t.api.get('/devices')).body.devices as { id: string; caps: string[] }[];
    assert.deepEqual(items.find((x) => x.id === 'capped')?.caps, ['twin', 'cmd:reboot', 'cmd:set-mode']);
    await d.close();
  });

  it('are stored: a restarted hub still knows them; a HELLO without caps clears them', async () => {
    const d = await TestDevice.connect(t.ws, token, { caps: ['cmd:open'] });
    await d.close();
    await t.stop();
    t = await startTestHub([], t.dir);
    assert.deepEqual((await t.api.get('/devices/capped')).body.caps, ['cmd:open']);
    const bare = await TestDevice.connect(t.ws, token);
    assert.deepEqual((await t.api.get('/devices/capped')).body.caps, []);
    await bare.close();
  });
});
