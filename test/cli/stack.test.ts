import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import * as assert from 'uvu/assert';
import { sourceMappedStack } from '../../src/cli/stack.js';
import { tempDir, test } from '../helpers.js';

/** A TypeScript file bundled as dockmk is (scripts/build.mjs): its stack, raw and mapped. */
async function bundledStack(): Promise<{ raw: string; mapped: string; source: string }> {
  const dir = tempDir('dockmk-stack-');
  const source = join(dir, 'src', 'boom.ts');
  const lines = ['// a comment line', 'interface Shape { readonly n: number }', '', 'export function boom(shape: Shape): never {', '  throw new Error(`boom ${shape.n}`);', '}', ''];
  mkdirSync(join(dir, 'src'));
  writeFileSync(source, lines.join('\n'));
  writeFileSync(join(dir, 'src', 'entry.ts'), "import { boom } from './boom.js';\nexport function run(): void {\n  boom({ n: 1 });\n}\n");
  await build({ absWorkingDir: dir, entryPoints: ['src/entry.ts'], outdir: 'dist', bundle: true, format: 'esm', platform: 'node', sourcemap: 'linked', sourcesContent: false, logLevel: 'silent' });
  const { run } = (await import(pathToFileURL(join(dir, 'dist', 'entry.js')).href)) as { run: () => void };
  try {
    run();
  } catch (error) {
    const raw = (error as Error).stack ?? '';
    return { raw, mapped: sourceMappedStack(raw), source };
  }
  throw new Error('run() did not throw');
}

test('frames in a bundle are mapped to the TypeScript source, line and column', async () => {
  const { raw, mapped, source } = await bundledStack();
  assert.match(raw, /dist\/entry\.js:\d+:\d+/);
  const lines = mapped.split('\n');
  assert.is(lines[0], 'Error: boom 1');
  assert.ok(lines[1]?.includes(`at boom (${source}:5:9)`), lines[1]);
  assert.ok(lines[2]?.includes(`${join(source, '..', 'entry.ts')}:3:3`), lines[2]);
  assert.not.match(mapped, /dist\/entry\.js/);
});

test('frames without a source map, and other lines, are left as they are', () => {
  const stack = ['TypeError: x is not a function', '    at f (/nowhere/lib.js:1:2)', '    at node:internal/process/task_queues:95:5', '    at async Promise.all (index 0)'].join('\n');
  assert.is(sourceMappedStack(stack), stack);
});

test.run();
