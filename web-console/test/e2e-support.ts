// Support for the browser end-to-end test: a real hub in its own process, the hub's
// JSON API, and headless Debian Chromium through playwright-core. Nothing here sleeps
// to synchronise: every wait is for an event, a line of output or a selector.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type DeviceSpec, type ProfileChoice, provisionDevices } from '@halyard/device-sim';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CONSOLE_DIST = join(ROOT, 'web-console/dist');
export const OUT = join(ROOT, 'test-output/console');
export const ADMIN_PASSWORD = 'e2e-admin-password';
export const CHROMIUM = process.env.HALYARD_CHROMIUM ?? '/usr/bin/chromium';

/** Builds the console once if this checkout has no build yet (CI runs `npm run build` first). */
export function ensureConsoleBuilt(): void {
  if (existsSync(join(CONSOLE_DIST, 'index.html'))) return;
  const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: join(ROOT, 'web-console'), stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not build the web console (npm run build --workspace=@halyard/web-console)');
}

export interface HubProcess {
  port: number;
  http: string;
  ws: string;
  dataDir: string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Starts again on the same port and data directory. */
  restart(): Promise<HubProcess>;
}

/** Starts `hub/src/main.ts` (through tsx) and resolves once it logs "listening". */
export function startHub(opts: { port?: number; dataDir?: string; flags?: string[] } = {}): Promise<HubProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'halyard-e2e-'));
  const args = [
    '--conditions=source',
    '--import',
    'tsx',
    join(ROOT, 'hub/src/main.ts'),
    '--port',
    String(opts.port ?? 0),
    '--host',
    '127.0.0.1',
    '--mqtt-port',
    '0',
    '--data-dir',
    dataDir,
    '--admin-password',
    ADMIN_PASSWORD,
    '--hub-name',
    'e2e-hub',
    '--ping-interval',
    '2s',
    '--ping-timeout',
    '2s',
    '--console-dir',
    CONSOLE_DIST,
    '--log-format',
    'json',
    ...(opts.flags ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the hub did not start in time:\n${log.join('\n')}`)), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('exit', (code) => fail(new Error(`the hub exited with ${code}:\n${log.join('\n')}`)));
    child.stderr?.on('data', (c: Buffer) => log.push(c.toString()));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (log.length < 200) log.push(line);
      if (!line.includes('"msg":"listening"')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const port = (JSON.parse(line) as { port: number }).port;
      const hub: HubProcess = {
        port,
        http: `http://127.0.0.1:${port}`,
        ws: `ws://127.0.0.1:${port}`,
        dataDir,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
        restart: () => startHub({ port, dataDir, ...(opts.flags === undefined ? {} : { flags: opts.flags }) }),
      };
      resolve(hub);
    });
  });
}

export interface SimProcess {
  stop(): Promise<void>;
  output(): string;
}

/**
 * Runs the provision screen's `device-sim` command line as an operator would: the
 * simulator's CLI (from source, so no build is needed) with `extra` flags appended.
 */
export function startSimCommand(runSim: string, extra: string[], files: Record<string, string> = {}): SimProcess {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-sim-'));
  // The files the operator saved first (the downloaded token), where the command expects them.
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
  const m = /^(?:npm run sim --|npx halyard-sim) (.+)$/.exec(runSim.trim());
  if (m === null) throw new Error(`not a device-sim command line: ${runSim}`);
  const args = (m[1] as string).split(/\s+/);
  // Run from a temp dir (nothing may depend on the repo's cwd), so tsx is named by its resolved URL.
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, join(ROOT, 'device-sim/src/main.ts'), ...args, ...extra], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out = (out + c.toString()).slice(-4_000);
  });
  child.stderr?.on('data', (c: Buffer) => {
    out = (out + c.toString()).slice(-4_000);
  });
  return {
    output: () => out,
    stop: () =>
      new Promise<void>((done) => {
        const finish = () => {
          removeDir(dir);
          done();
        };
        if (child.exitCode !== null) return finish();
        child.once('exit', finish);
        child.kill('SIGTERM');
      }),
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The hub's JSON API as an admin (bearer token), for setting up and checking. */
export class Api {
  private token = '';
  constructor(readonly base: string) {}

  async login(username: string, password: string): Promise<void> {
    const r = await this.call('POST', '/login', { username, password });
    this.token = (r as { token: string }).token;
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const res = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }
}

/** Headless Debian Chromium with a fresh profile (never `playwright install`). */
export function launchBrowser(): Promise<{ context: BrowserContext; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'halyard-chromium-'));
  // launchPersistentContext is playwright's way to pass --user-data-dir.
  return chromium
    .launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 800 },
      colorScheme: 'light',
    })
    .then((context) => ({ context, profile }));
}

/** The admin's account as device-sim's provisioning takes it. */
export const ADMIN_AUTH = { user: 'admin', password: ADMIN_PASSWORD };

/**
 * A browser test's hub: builds the console if need be, makes the screenshot dir, starts
 * the hub and logs its API in as admin.
 */
export async function startConsoleHub(flags: string[] = []): Promise<{ hub: HubProcess; api: Api }> {
  ensureConsoleBuilt();
  mkdirSync(OUT, { recursive: true });
  const hub = await startHub({ flags });
  const api = new Api(hub.http);
  await api.login('admin', ADMIN_PASSWORD);
  return { hub, api };
}

/** Provisions `count` simulated devices (ids `<idPrefix>0001`, ...) running `profile`, as admin. */
export async function provision(
  hub: HubProcess,
  count: number,
  idPrefix: string,
  profile: ProfileChoice,
  opts: { concurrency?: number } = {},
): Promise<DeviceSpec[]> {
  return (await provisionDevices({ hub: hub.ws, count, idPrefix, profile, auth: ADMIN_AUTH, ...opts })).devices;
}

/** Chromium (launchBrowser) and its first page; the page's uncaught errors go to `errors`. */
export async function openPage(errors?: string[]): Promise<{ context: BrowserContext; profile: string; page: Page }> {
  const { context, profile } = await launchBrowser();
  const page = context.pages()[0] ?? (await context.newPage());
  if (errors) page.on('pageerror', (e) => errors.push(e.message));
  return { context, profile, page };
}

/** Opens /fleet, logs in through the console's form and waits for `until` (by default, the live channel). */
export async function logIn(
  page: Page,
  hub: HubProcess,
  username = 'admin',
  password = ADMIN_PASSWORD,
  until = '.conn[data-state="live"]',
): Promise<void> {
  await page.goto(`${hub.http}/fleet`);
  await page.fill('#login-user', username);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector(until, { timeout: 15_000 });
}

/**
 * The end of a browser test (for `after`, so any part may be missing): closes the
 * browser, stops `others` (fleets, simulators), stops the hub, removes the directories.
 */
export async function tearDown(
  s: { context?: BrowserContext; profile?: string; hub?: HubProcess },
  ...others: ({ stop(): Promise<unknown> } | undefined)[]
): Promise<void> {
  await s.context?.close();
  await Promise.all(others.map((o) => o?.stop()));
  await s.hub?.stop();
  if (s.hub) removeDir(s.hub.dataDir);
  if (s.profile) removeDir(s.profile);
}
