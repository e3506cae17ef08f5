#!/usr/bin/env node
// The published entry point: the compiled CLI lives in dist/ (built by `npm run build`,
// which `npm ci` runs through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('dockmk: dist/ is missing — run `npm run build` (or `npm ci`) in the dockmk checkout first\n');
  process.exitCode = 70;
} else {
  await import(main.href);
}
