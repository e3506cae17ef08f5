#!/usr/bin/env node
// The published entry point: the CLI bundled into dist/ by `npm run build` (scripts/build.mjs),
// which `npm ci` runs through `prepare`. Stack traces of internal errors are mapped back to src/
// by src/cli/stack.ts when printed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('dockmk: dist/ is missing — run `npm run build` (or `npm ci`) in the dockmk checkout first\n');
  process.exitCode = 70;
} else {
  await import(main.href);
}
