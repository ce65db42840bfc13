// Console slots per operator and per address: one viewer opening console after
// console is refused with 429 at its own limit, and everyone else still gets in.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_GATEWAY_DEFAULTS } from '../src/console/gateway.js';
import { ConsoleClient, gatewayServer } from './console-client.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('console connection limits', () => {
  let t: TestHub;
  const tokens: Record<string, string> = {};
  before(async () => {
    t = await startTestHub();
    for (const username of ['hog', 'other']) {
      assert.equal((await t.api.post('/operators', { username, password: `${username}-password-1`, role: 'viewer' })).status, 201);
      tokens[username] = (await t.api.post('/login', { username, password: `${username}-password-1` })).body.token;
    }
  });
  after(() => t.close());

  it('refuses an operator past its limit with 429 and a log line; another operator still connects', async () => {
    const limit = CONSOLE_GATEWAY_DEFAULTS.maxConsolesPerOperator;
    const mine: ConsoleClient[] = [];
    for (let i = 0; i < limit; i++) mine.push(await ConsoleClient.open(t.ws, { token: tokens.hog }));
    const refused = await ConsoleClient.open(t.ws, { token: tokens.hog }).then(
      () => assert.fail('the operator got one console more than its limit'),
      (err: { status: number; body: string }) => err,
    );
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.body).error.code, 'HUB_ERR_RATE_LIMITED');
    assert.ok(t.logs.some((l) => l.msg.startsWith('console upgrade refused') && l.status === 429 && l.operator === 'hog'));
    const other = await ConsoleClient.open(t.ws, { token: tokens.other });
    await other.close();
    await Promise.all(mine.map((c) => c.close()));
  });

  it('refuses an address past its limit with 429; the same operator from another address connects', async () => {
    const s = await gatewayServer(t, { maxConsolesPerAddress: 3 });
    try {
      const opened: ConsoleClient[] = [];
      for (const username of ['hog', 'other', 'hog'])
        opened.push(await ConsoleClient.open(s.url, { token: tokens[username], localAddress: '127.0.0.2' }));
      await assert.rejects(ConsoleClient.open(s.url, { token: tokens.other, localAddress: '127.0.0.2' }), { status: 429 });
      opened.push(await ConsoleClient.open(s.url, { token: tokens.other, localAddress: '127.0.0.3' }));
      await Promise.all(opened.map((c) => c.close()));
    } finally {
      await s.close();
    }
  });
});
