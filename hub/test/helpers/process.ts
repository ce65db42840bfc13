// The hub as a real process, the way it runs in production (compiled JS).

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { storeFlags } from './test-store.js';

/** hub/dist/src/main.js, from this file in the source tree (hub/test/helpers) or compiled (hub/dist/test/helpers). */
export const MAIN = fileURLToPath(
  new URL(import.meta.url.includes('/dist/test/') ? '../../src/main.js' : '../../dist/src/main.js', import.meta.url),
);

export interface HubProcess {
  proc: ChildProcess;
  port: number;
  mqttPort: number;
  stdout: string[];
  stderr: string;
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node hub/dist/src/main.js` and waits for its `listening` line; on the test
 * store (test-store.ts): with HALYARD_TEST_STORE=postgres, the database standing for
 * its --data-dir (the same one for every start on that dir).
 */
export interface SpawnOptions {
  /**
   * A process group of its own, so a terminal's Ctrl-C (sent to the whole foreground
   * group) does not reach it and only its owner stops it (npm run cluster).
   */
  ownGroup?: boolean;
}

export async function spawnHub(args: string[], env: Record<string, string> = {}, options: SpawnOptions = {}): Promise<HubProcess> {
  const dirAt = args.indexOf('--data-dir');
  const dir = dirAt >= 0 ? args[dirAt + 1] : undefined;
  const store = dir === undefined ? [] : await storeFlags(dir, args);
  return started(args, store, env, options);
}

function started(args: string[], store: string[], env: Record<string, string>, options: SpawnOptions = {}): Promise<HubProcess> {
  const proc = spawn(
    process.execPath,
    [MAIN, '--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0', '--log-format', 'json', ...store, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.ownGroup === true,
    },
  );
  const h: HubProcess = {
    proc,
    port: 0,
    mqttPort: 0,
    stdout: [],
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  proc.stderr?.on('data', (d) => {
    h.stderr += String(d);
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      // Not left running behind the failed start.
      proc.kill('SIGKILL');
      reject(new Error(`hub did not start: ${h.stderr}`));
    }, 20_000);
    proc.stdout?.on('data', (d) => {
      buf += String(d);
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        h.stdout.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number; mqttPort?: number };
          if (j.msg === 'listening') {
            clearTimeout(timer);
            h.port = j.port as number;
            h.mqttPort = j.mqttPort as number;
            resolve(h);
          }
        } catch {
          // not JSON
        }
        nl = buf.indexOf('\n');
      }
    });
    void h.exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening: ${h.stderr}`));
    });
  });
}

/** Runs the hub CLI to completion (for --help and bad flags). */
export function runHub(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => {
      stdout += String(d);
    });
    proc.stderr.on('data', (d) => {
      stderr += String(d);
    });
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
