// A PgLeadership in a process of its own, for tests that kill the leader with SIGKILL:
// `node --conditions=source --import tsx leader-child.ts <url> <node-id> <retry-ms>`
// prints `leader true|false` at every change.

import { PgLeadership } from '../../src/cluster/pg-leadership.js';

const [url, nodeId, retry] = process.argv.slice(2);
if (url === undefined || nodeId === undefined) throw new Error('usage: leader-child.ts <postgres-url> <node-id> [retry-ms]');
const leadership = await PgLeadership.start({ url, nodeId, retryMs: Number(retry ?? 2_000) });
leadership.onChange((leader) => process.stdout.write(`leader ${leader}\n`));
// Kept alive by the interval, until the test kills the process.
setInterval(() => {}, 60_000);
