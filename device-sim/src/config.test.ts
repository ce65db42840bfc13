import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envName, helpText, loadConfig, parseRate } from './config.js';
import { SimErrorCode } from './errors.js';

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: Error & { code?: string }) => err.code === SimErrorCode.Config && pattern.test(err.message));
}

test('defaults, then environment, then flags', () => {
  const d = loadConfig([], {});
  assert.equal(d.hub, 'ws://127.0.0.1:8080');
  assert.equal(d.profile, 'mixed');
  assert.equal(d.rampMs, 2_000);
  assert.equal(d.rate, undefined);
  const e = loadConfig([], { HALYARD_SIM_COUNT: '7', HALYARD_SIM_PROFILE: 'relay', HALYARD_SIM_RAMP: '5s' });
  assert.deepEqual([e.count, e.profile, e.rampMs], [7, 'relay', 5_000]);
  const f = loadConfig(['--count', '9', '--profile=tracker', '--json'], { HALYARD_SIM_COUNT: '7', HALYARD_SIM_PROFILE: 'relay' });
  assert.deepEqual([f.count, f.profile, f.json], [9, 'tracker', true]);
});

test('the configuration is frozen', () => {
  const c = loadConfig(['--chaos-disconnect', '2/m'], {});
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.chaos));
  assert.throws(() => {
    (c as { count: number }).count = 3;
  });
});

test('rates, durations, chaos and source addresses parse with their units', () => {
  const c = loadConfig(
    [
      '--rate',
      '30/m',
      '--backoff-base',
      '200ms',
      '--backoff-cap',
      '5s',
      '--chaos-disconnect',
      '6/h',
      '--chaos-slow',
      '250ms',
      '--chaos-skew',
      '1h',
      '--chaos-storm',
      '30s',
      '--chaos-devices',
      '0.5',
      '--source-addresses',
      '3',
    ],
    {},
  );
  assert.equal(c.rate, 0.5);
  assert.deepEqual([c.backoffBaseMs, c.backoffCapMs], [200, 5_000]);
  assert.equal(c.chaos.disconnectRate, 6 / 3_600);
  assert.deepEqual([c.chaos.slowMs, c.chaos.skewMs, c.chaos.stormEveryMs, c.chaos.fraction], [250, 3_600_000, 30_000, 0.5]);
  assert.deepEqual(c.sourceAddresses, ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  assert.deepEqual(loadConfig(['--source-addresses', '10.0.0.1, 10.0.0.2'], {}).sourceAddresses, ['10.0.0.1', '10.0.0.2']);
  assert.equal(parseRate('2'), 2);
  assert.equal(parseRate('1/h'), 1 / 3_600);
  assert.equal(parseRate('fast'), undefined);
});

test('bad values are refused once, naming the flag or variable', () => {
  configError(() => loadConfig(['--count', 'many'], {}), /--count/);
  configError(() => loadConfig([], { HALYARD_SIM_RAMP: 'soon' }), /HALYARD_SIM_RAMP/);
  configError(() => loadConfig(['--hub', 'http://x:1'], {}), /ws:\/\//);
  configError(() => loadConfig(['--profile', 'toaster'], {}), /--profile/);
  configError(() => loadConfig(['--provision'], {}), /--password/);
  configError(() => loadConfig(['--insecure'], {}), /wss/);
  configError(() => loadConfig(['--backoff-base', '10s', '--backoff-cap', '1s'], {}), /backoff/);
  configError(() => loadConfig(['--batch', '5000'], {}), /--batch/);
  configError(() => loadConfig(['--nope'], {}), /unknown argument/);
  configError(() => loadConfig(['--count'], {}), /needs a value/);
  assert.equal(loadConfig(['--provision', '--api-token', 't'], {}).provision, true);
  assert.equal(loadConfig(['--provision'], { HALYARD_SIM_PASSWORD: 'pw' }).password, 'pw');
});

test('--help lists every flag with its default and variable', () => {
  const help = helpText();
  for (const flag of [
    'hub',
    'count',
    'profile',
    'ca',
    'insecure',
    'provision',
    'user',
    'password',
    'api-token',
    'tokens',
    'token-file',
    'id-prefix',
    'rate',
    'batch',
    'ramp',
    'backoff-base',
    'backoff-cap',
    'buffer',
    'duration',
    'json',
    'source-addresses',
    'chaos-disconnect',
    'chaos-silent',
    'chaos-slow',
    'chaos-skew',
    'chaos-malformed',
    'chaos-storm',
    'chaos-devices',
  ]) {
    assert.match(help, new RegExp(`--${flag}\\b`), flag);
    assert.match(help, new RegExp(envName(flag)), flag);
  }
  assert.equal(loadConfig(['--help', '--provision'], {}).help, true, '--help does not validate');
});

test('--token takes one device credential instead of a tokens file', () => {
  const token = `thermo.7.${'a'.repeat(43)}`;
  assert.equal(loadConfig(['--token', token], {}).token, token);
  assert.equal(loadConfig([], { HALYARD_SIM_TOKEN: token }).token, token);
  configError(() => loadConfig(['--token', 'no-secret'], {}), /--token must be <device-id>\.<secret>/);
  configError(() => loadConfig(['--token', token, '--provision', '--password', 'x'], {}), /do not go together/);
  // '-' (stdin) and --token-file are checked when read, not here.
  assert.equal(loadConfig(['--token', '-'], {}).token, '-');
  assert.equal(loadConfig(['--token-file', 'device.token'], {}).tokenFile, 'device.token');
  configError(() => loadConfig(['--token', token, '--token-file', 'f'], {}), /--token and --token-file/);
  configError(() => loadConfig(['--token-file', 'f', '--provision', '--password', 'x'], {}), /do not go together/);
});

test('firmware update flags: speed as a size per second, window 1-16, a known fault', () => {
  const c = loadConfig(['--update-speed', '64KiB', '--update-window', '8', '--update-fault', 'boot-fail', '--update-key', 'key.pem'], {});
  assert.deepEqual([c.updateSpeed, c.updateWindow, c.updateFault, c.updateKey], [65_536, 8, 'boot-fail', 'key.pem']);
  assert.deepEqual([loadConfig([], {}).updateSpeed, loadConfig([], {}).updateWindow], [0, 4]);
  configError(() => loadConfig(['--update-window', '17'], {}), /--update-window must be from 1 to 16/);
  configError(() => loadConfig(['--update-fault', 'melt'], {}), /--update-fault must be one of corrupt, install-fail/);
  configError(() => loadConfig(['--update-speed', 'fast'], {}), /--update-speed: "fast" is not a size/);
});
