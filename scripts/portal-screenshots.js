#!/usr/bin/env node
// Screenshots of the portal's main pages for docs/portal.md: `node scripts/portal-screenshots.js`.
// Starts a sandbox Herald in a temporary data directory, fills it with a hub, simulated devices and a few
// sends, then drives Debian's Chromium (/usr/bin/chromium) through the pages into docs/portal/*.png.
// Needs the portal built (npm run build:portal) and tsx (a dependency) to load Herald's sources.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
if (!existsSync('/usr/bin/chromium')) {
  console.error('portal-screenshots: /usr/bin/chromium is missing (install Debian\'s chromium package)');
  process.exit(1);
}
execFileSync(process.execPath, [join(root, 'scripts', 'build-portal.js')], { stdio: 'inherit' });
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'portal-screenshots.ts')], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
