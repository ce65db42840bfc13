#!/usr/bin/env node
// Captures the console's screenshots for the README into docs/console/*.png: starts a
// hub and a simulated fleet, drives headless Debian Chromium (as the external browser
// tests do; HALYARD_CHROMIUM names another binary). Needs the console built
// (`npm run build`). The work is in web-console/test/screenshots.script.ts.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'web-console/test/screenshots.script.ts'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
