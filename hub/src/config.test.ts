import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, envName, FLAGS, helpText, loadConfig, redact } from './config.js';

describe('hub configuration', () => {
  it('has the defaults README.md § Configuration names', () => {
    const c = loadConfig([], {});
    assert.equal(c.port, 8080);
    assert.equal(c.mqttPort, 1883);
    assert.equal(c.dataDir, './data');
    assert.equal(c.pingInterval, 30_000);
    assert.equal(c.pingTimeout, 10_000);
    assert.equal(c.maxFrame, 65_536);
    assert.equal(c.mqttPrefix, 'halyard');
    assert.deepStrictEqual(c.bridge, []);
    assert.equal(c.retention, 30 * 86_400_000);
    assert.equal(c.retentionRollups, 400 * 86_400_000);
    assert.ok(Object.isFrozen(c));
  });

  it('reads --retention-rollups as a duration, from the environment too', () => {
    assert.equal(loadConfig(['--retention-rollups', '730d'], {}).retentionRollups, 730 * 86_400_000);
    assert.equal(loadConfig([], { HALYARD_RETENTION_ROLLUPS: '0' }).retentionRollups, 0);
    assert.throws(() => loadConfig(['--retention-rollups', 'soon'], {}), ConfigError);
  });

  it('reads --mqtt-qos as one QoS for all topic classes or per class, and the session queue bounds', () => {
    const all1 = { telemetry: 1, events: 1, status: 1, twin: 1, command: 1 };
    assert.deepStrictEqual(loadConfig([], {}).mqttQos, all1);
    assert.deepStrictEqual(loadConfig(['--mqtt-qos', '1,telemetry=0'], {}).mqttQos, { ...all1, telemetry: 0 });
    assert.deepStrictEqual(loadConfig([], { HALYARD_MQTT_QOS: '0, command=1' }).mqttQos, {
      telemetry: 0,
      events: 0,
      status: 0,
      twin: 0,
      command: 1,
    });
    assert.throws(() => loadConfig(['--mqtt-qos', '2'], {}), /--mqtt-qos: "2" is not 0, 1/);
    assert.throws(() => loadConfig(['--mqtt-qos', 'metrics=0'], {}), /unknown topic class "metrics"/);
    assert.throws(() => loadConfig(['--mqtt-qos', ''], {}), ConfigError);
    const c = loadConfig(['--mqtt-queue-messages', '50', '--mqtt-queue-bytes', '1MiB'], {});
    assert.equal(c.mqttQueueMessages, 50);
    assert.equal(c.mqttQueueBytes, 1024 * 1024);
    assert.equal(loadConfig([], {}).mqttQueueMessages, 10_000);
    assert.throws(() => loadConfig(['--mqtt-queue-messages', '0'], {}), /--mqtt-queue-messages must be 1-1000000/);
  });

  it('takes the environment over defaults, and flags over the environment', () => {
    const env = { HALYARD_PING_INTERVAL: '5s', HALYARD_MQTT_PORT: '1999', HALYARD_BRIDGE: 'mqtt://a:1, mqtts://b:2' };
    const fromEnv = loadConfig([], env);
    assert.equal(fromEnv.pingInterval, 5_000);
    assert.equal(fromEnv.mqttPort, 1999);
    assert.deepStrictEqual(fromEnv.bridge, ['mqtt://a:1', 'mqtts://b:2']);
    const fromFlags = loadConfig(['--ping-interval', '250ms', '--bridge', 'mqtt://c:3', '--bridge', 'mqtt://d:4'], env);
    assert.equal(fromFlags.pingInterval, 250);
    assert.deepStrictEqual(fromFlags.bridge, ['mqtt://c:3', 'mqtt://d:4']);
    assert.equal(fromFlags.mqttPort, 1999);
  });

  it('names each variable HALYARD_ + the flag in upper snake case', () => {
    assert.equal(envName('mqtt-port'), 'HALYARD_MQTT_PORT');
    for (const f of FLAGS) assert.ok(helpText().includes(envName(f.flag)), f.flag);
  });

  it('reads the webhook flags and refuses bad ones', () => {
    const c = loadConfig([], {});
    assert.equal(c.webhookRetryFor, 86_400_000);
    assert.equal(c.webhookQueue, 10_000);
    assert.deepEqual(c.webhookAllow, []);
    assert.deepEqual(loadConfig(['--webhook-allow', '127.0.0.1', '--webhook-allow', '10.0.0.0/8'], {}).webhookAllow, [
      '127.0.0.1',
      '10.0.0.0/8',
    ]);
    assert.deepEqual(loadConfig([], { HALYARD_WEBHOOK_ALLOW: '127.0.0.1,::1' }).webhookAllow, ['127.0.0.1', '::1']);
    assert.throws(() => loadConfig(['--webhook-allow', 'localhost'], {}), /--webhook-allow: "localhost" is not an address/);
    assert.throws(() => loadConfig(['--webhook-queue', '0'], {}), /--webhook-queue must be 1-1000000/);
    assert.throws(() => loadConfig(['--webhook-retry-for', '10ms'], {}), /--webhook-retry-for must be at least 1s/);
  });

  it('reads the job deadline flags: 7 days by default, at most 90, the cap never below the default', () => {
    const c = loadConfig([], {});
    assert.deepEqual([c.jobDeadline, c.jobDeadlineMax], [7 * 86_400_000, 90 * 86_400_000]);
    assert.equal(loadConfig([], { HALYARD_JOB_DEADLINE: '36h' }).jobDeadline, 36 * 3_600_000);
    assert.throws(() => loadConfig(['--job-deadline', '10ms'], {}), /--job-deadline must be at least 1s/);
    assert.throws(
      () => loadConfig(['--job-deadline', '30d', '--job-deadline-max', '10d'], {}),
      /--job-deadline-max must be at least --job-deadline/,
    );
  });

  it('accepts --ha-discovery alone or with a prefix', () => {
    assert.equal(loadConfig(['--ha-discovery'], {}).haDiscovery, 'homeassistant');
    assert.equal(loadConfig(['--ha-discovery', 'ha'], {}).haDiscovery, 'ha');
    assert.equal(loadConfig([], {}).haDiscovery, undefined);
  });

  it('rejects bad values naming the flag or variable', () => {
    assert.throws(
      () => loadConfig(['--max-frame', 'huge'], {}),
      (e: Error) => e instanceof ConfigError && /--max-frame/.test(e.message),
    );
    assert.throws(() => loadConfig([], { HALYARD_RETENTION: 'forever' }), /HALYARD_RETENTION/);
    assert.throws(() => loadConfig(['--mqtt-prefix', 'a/+/b'], {}), /--mqtt-prefix/);
    assert.throws(() => loadConfig(['--bridge', 'http://x'], {}), /mqtt:\/\//);
    assert.throws(() => loadConfig(['--admin-password', 'short'], {}), /at least 8/);
  });

  it('bounds MQTT connections and sessions by default, within checked ranges', () => {
    const c = loadConfig([], {});
    assert.equal(c.mqttConnectTimeout, 5_000);
    assert.equal(c.mqttPendingPerIp, 10);
    assert.throws(() => loadConfig(['--mqtt-connect-timeout', '0'], {}), /--mqtt-connect-timeout/);
    assert.equal(c.mqttMaxInflight, 32);
    assert.equal(c.mqttInflightTotal, 20_000);
    assert.equal(c.mqttSessionExpiry, 3_600_000);
    assert.equal(loadConfig(['--mqtt-session-expiry', '0'], {}).mqttSessionExpiry, 0);
    assert.equal(c.mqttMaxSessions, 100);
    assert.throws(() => loadConfig(['--mqtt-max-inflight', '0'], {}), /--mqtt-max-inflight/);
    assert.throws(() => loadConfig(['--mqtt-max-inflight', '64', '--mqtt-inflight-total', '10'], {}), /--mqtt-inflight-total/);
  });

  it('takes --store as a PostgreSQL URL (or HALYARD_STORE), SQLite when absent, and never repeats its password', () => {
    assert.equal(loadConfig([], {}).store, undefined);
    const url = 'postgres://hub:pa55word@db.example:5432/halyard?sslmode=require';
    assert.equal(loadConfig(['--store', url], {}).store, url);
    assert.equal(loadConfig([], { HALYARD_STORE: 'postgresql:///halyard' }).store, 'postgresql:///halyard');
    for (const bad of ['mysql://hub:pa55word@db/halyard', 'hub:pa55word@db', 'postgres://hub:pa55word@db/a/b', './data']) {
      assert.throws(
        () => loadConfig(['--store', bad], {}),
        (e: Error) => e instanceof ConfigError && /--store/.test(e.message) && !e.message.includes('pa55word'),
        bad,
      );
    }
  });

  it('hides passwords in URLs it reports', () => {
    assert.equal(redact('mqtts://user:s3cret@broker:8883/?prefix=a'), 'mqtts://user:***@broker:8883/?prefix=a');
  });

  it('takes --cluster as a Redis URL only with a PostgreSQL store, and names each node', () => {
    const store = 'postgres://hub:pa55word@db/halyard';
    const single = loadConfig([], {});
    assert.equal(single.cluster, undefined);
    assert.match(single.nodeId, new RegExp(`-${process.pid}$`));
    const c = loadConfig(['--store', store, '--cluster', 'redis://:s3cret@redis.example:6379?prefix=fleet1:', '--node-id', 'hub-a'], {});
    assert.equal(c.cluster, 'redis://:s3cret@redis.example:6379?prefix=fleet1:');
    assert.equal(c.nodeId, 'hub-a');
    assert.equal(loadConfig([], { HALYARD_STORE: store, HALYARD_CLUSTER: 'rediss://r:6380', HALYARD_NODE_ID: 'n2' }).nodeId, 'n2');
    assert.throws(
      () => loadConfig(['--cluster', 'redis://:s3cret@redis.example:6379'], {}),
      (e: Error) => e instanceof ConfigError && /needs a shared PostgreSQL store/.test(e.message) && !e.message.includes('s3cret'),
    );
    for (const bad of ['http://redis:6379', 'redis.example:6379', 'redis://:s3cret@r:6379?prefix=a b', 'redis://:6379']) {
      assert.throws(
        () => loadConfig(['--store', store, '--cluster', bad], {}),
        (e: Error) => e instanceof ConfigError && /--cluster/.test(e.message) && !e.message.includes('s3cret'),
        bad,
      );
    }
    assert.throws(() => loadConfig(['--node-id', 'a/b'], {}), /--node-id/);
    assert.throws(() => loadConfig(['--node-id', 'x'.repeat(65)], {}), /--node-id/);
  });
});
