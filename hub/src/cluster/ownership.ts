// Device ownership across nodes (docs/architecture.md § Cluster; SPEC.md §8.6): a
// lease per device in Redis, `own:{device}` = "<node> <session>", with a TTL
// (LEASE_TTL_MS) that this node renews for every session it serves, and a node
// heartbeat `alive:{node}` with the same TTL. A node that dies stops renewing:
// within LEASE_TTL_MS its leases are gone and the other nodes show its devices
// offline (presence-sweep.ts).
//
// Takeover, when a device connects to node B while node A holds it:
//   1. B sets the lease to its own session (the newest connection wins) and reads the previous holder, in one script;
//   2. B asks A on A's channel to let go; A stops reading the device, commits and
//      acknowledges what it holds, closes with 4409, then answers on B's channel;
//   3. B waits for the answer, at most RELEASE_WAIT_MS (none at all when A's
//      heartbeat is gone), and only then reads the sequence number from PostgreSQL
//      and sends WELCOME. A late write from A cannot be counted twice: storage is
//      exactly once by (device, seq).
// Two connections at once through two nodes: both set the lease; the later one
// wins and asks the earlier one to let go, which ends it (before or after its
// WELCOME) with 4409.

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { DeviceOwnership, OwnershipHost } from '../device/ownership.js';
import type { Logger } from '../log.js';
import type { ClusterLink } from './link.js';

/** How long a lease lives without renewal, ms: the bound on how long a dead node's devices stay online (SPEC.md §8.6). */
export const LEASE_TTL_MS = 15_000;
/** Leases and the heartbeat are renewed this often, ms: two renewals may fail before a lease lapses. */
export const RENEW_MS = 5_000;
/** Longest a new node waits for the old one to let go, ms (the old one alive but silent: partitioned or stalled). */
export const RELEASE_WAIT_MS = 5_000;

/** Sets the lease, returns what it held. */
const CLAIM = `local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return old`;
/** Renews a lease this session holds; sets it again if Redis lost it (restart); 0 if another holds it. */
const RENEW = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;
/** Deletes a lease only if it still names this session. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const message = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('release'),
    device: z.string().min(1).max(256),
    session: z.string().min(1).max(128),
    from: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    req: z.string().min(1).max(64),
  }),
  z.object({ t: z.literal('released'), req: z.string().min(1).max(64) }),
]);

export interface OwnershipStats {
  claims: number;
  /** Claims of a device another node held: that node answered, was gone (no heartbeat), or stayed silent past RELEASE_WAIT_MS. */
  answered: number;
  gone: number;
  unanswered: number;
  /** Sessions ended because another node held their lease. */
  lost: number;
}

export class LeaseOwnership implements DeviceOwnership {
  private readonly waiting = new Map<string, () => void>();
  private readonly channel: string;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: OwnershipStats = { claims: 0, answered: 0, gone: 0, unanswered: 0, lost: 0 };

  constructor(
    private readonly link: ClusterLink,
    private readonly host: OwnershipHost,
    private readonly log: Logger,
    /** Called before this node answers a release, so what it published first (presence offline) is ahead of the answer. */
    private readonly beforeAnswer: () => void = () => {},
    /** Called once a claim is settled, before WELCOME: memory the device's previous node may have made stale is read again. */
    private readonly afterClaim: (device: string) => Promise<void> = async () => {},
  ) {
    this.channel = link.nodeChannel(link.nodeId);
  }

  async start(): Promise<void> {
    this.link.sub.on('messageBuffer', (channel: Buffer, raw: Buffer) => {
      if (channel.toString() === this.channel) this.receive(raw);
    });
    await this.link.sub.subscribe(this.channel);
    await this.heartbeat();
    this.timer = setInterval(() => void this.renewAll(), RENEW_MS);
    this.timer.unref();
    // Back from an outage or a Redis restart: announce every lease and the heartbeat again at once.
    this.link.on('up', () => void this.renewAll());
  }

  /** Stops renewing; the heartbeat goes at once, so no node waits on this one to answer a takeover. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const done of this.waiting.values()) done();
    this.waiting.clear();
    if (this.link.up) await this.link.cmd.del(this.link.key('alive', this.link.nodeId)).catch(() => {});
  }

  private lease(device: string): string {
    return this.link.key('own', device);
  }

  private value(session: string): string {
    return `${this.link.nodeId} ${session}`;
  }

  async claim(device: string, session: string): Promise<void> {
    await this.takeOver(device, session);
    await this.afterClaim(device).catch((err: unknown) =>
      this.log.warn({ err: (err as Error).message, device }, 'cluster: could not reload what another node changed for the device'),
    );
  }

  private async takeOver(device: string, session: string): Promise<void> {
    this.stats.claims++;
    // Redis unreachable: serve the device anyway (storage stays exactly once); renewal announces the lease once Redis is back.
    if (!this.link.up) return;
    let old: string | null;
    try {
      old = (await this.link.cmd.eval(CLAIM, 1, this.lease(device), this.value(session), LEASE_TTL_MS)) as string | null;
    } catch (err) {
      this.log.debug({ err: (err as Error).message, device }, 'cluster: could not claim a device lease');
      return;
    }
    if (old === null) return;
    const [node, oldSession] = old.split(' ');
    // This node's own older session: the gateway replaces it itself.
    if (node === undefined || oldSession === undefined || node === this.link.nodeId) return;
    const alive = await this.link.cmd.exists(this.link.key('alive', node)).catch(() => 0);
    if (alive === 0) {
      this.stats.gone++;
      this.log.info({ device, from: node }, 'cluster: taking over a device from a node that is gone');
      return;
    }
    const req = randomUUID();
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(req);
        resolve(false);
      }, RELEASE_WAIT_MS);
      this.waiting.set(req, () => {
        clearTimeout(timer);
        this.waiting.delete(req);
        resolve(true);
      });
      const ask = JSON.stringify({ t: 'release', device, session: oldSession, from: this.link.nodeId, req });
      this.link.cmd.publish(this.link.nodeChannel(node), ask).catch(() => {});
    });
    if (!answered) {
      this.stats.unanswered++;
      this.log.warn(
        { device, from: node, waitedMs: RELEASE_WAIT_MS },
        'cluster: the node holding a device did not let go in time; taking it over',
      );
    } else {
      this.stats.answered++;
      this.log.debug({ device, from: node }, 'cluster: device taken over');
    }
  }

  release(device: string, session: string): void {
    if (!this.link.up) return;
    this.link.cmd.eval(RELEASE, 1, this.lease(device), this.value(session)).catch(() => {});
  }

  private receive(raw: Buffer): void {
    let parsed: z.infer<typeof message>;
    try {
      const r = message.safeParse(JSON.parse(raw.toString('utf8')));
      if (!r.success) throw new Error(r.error.issues[0]?.message ?? 'invalid');
      parsed = r.data;
    } catch (err) {
      this.log.warn({ reason: (err as Error).message.slice(0, 200) }, 'cluster: dropped a node message that failed its checks');
      return;
    }
    if (parsed.t === 'released') {
      this.waiting.get(parsed.req)?.();
      return;
    }
    const { device, session, from, req } = parsed;
    this.host
      .letGo(device, session)
      .catch((err: unknown) => this.log.error({ err, device }, 'cluster: letting go of a device failed'))
      .finally(() => {
        this.beforeAnswer();
        this.link.cmd.publish(this.link.nodeChannel(from), JSON.stringify({ t: 'released', req })).catch(() => {});
      });
  }

  private async heartbeat(): Promise<void> {
    await this.link.cmd.set(this.link.key('alive', this.link.nodeId), String(Date.now()), 'PX', LEASE_TTL_MS);
  }

  /** Renews every lease this node holds (one pipeline), re-announcing any Redis lost; sessions whose lease another took end. */
  private async renewAll(): Promise<void> {
    if (!this.link.up) return;
    try {
      await this.heartbeat();
      const held = [...this.host.held()];
      for (let i = 0; i < held.length; i += 1_000) {
        const slice = held.slice(i, i + 1_000);
        const pipe = this.link.cmd.pipeline();
        for (const [device, session] of slice) pipe.eval(RENEW, 1, this.lease(device), this.value(session), LEASE_TTL_MS);
        const results = (await pipe.exec()) ?? [];
        results.forEach(([err, r], j) => {
          const pair = slice[j];
          if (err !== null || r !== 0 || pair === undefined) return;
          this.stats.lost++;
          this.host.leaseLost(pair[0], pair[1]);
        });
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'cluster: lease renewal failed; retrying at the next round');
    }
  }
}
