#!/usr/bin/env node
// The load generator as a process the benchmark suite drives (bench scripts only;
// people use `npm run sim`). Options come as one JSON argument; commands arrive as
// JSON lines on stdin, answers leave as JSON lines on stdout:
//
//   in:  {"cmd":"connect","value"?:N} {"cmd":"rate","value":20000} {"cmd":"reset"} {"cmd":"stats"} {"cmd":"pause"} {"cmd":"stop"}
//   out: {"event":"ready"} {"event":"connected",...stats} {"event":"stats",...stats} {"event":"stopped"}

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { LoadGenerator, type LoadOptions } from './load-gen.js';

type Args = Omit<LoadOptions, 'tokens'> & { tokensFile: string };

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const tokens = JSON.parse(readFileSync(args.tokensFile, 'utf8')) as string[];
const gen = new LoadGenerator({ ...args, tokens });
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const msg = JSON.parse(line) as { cmd: string; value?: number };
  switch (msg.cmd) {
    case 'connect':
      await gen.connect(msg.value);
      out({ event: 'connected', ...gen.stats() });
      return;
    case 'rate':
      gen.setRate(msg.value ?? 0);
      out({ event: 'rate', value: msg.value ?? 0 });
      return;
    case 'reset':
      gen.resetCounters();
      out({ event: 'reset' });
      return;
    case 'stats':
      out({ event: 'stats', ...gen.stats() });
      return;
    case 'pause':
      gen.pause();
      out({ event: 'paused' });
      return;
    case 'stop':
      await gen.stop();
      out({ event: 'stopped', ...gen.stats() });
      process.exit(0);
  }
});
rl.on('close', () => process.exit(0));
out({ event: 'ready' });
