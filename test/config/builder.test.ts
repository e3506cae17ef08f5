import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config/config.js';
import { tempDir, test } from '../helpers.js';

function checkout(configText?: string): string {
  const root = tempDir('dockmk-config-');
  if (configText !== undefined) writeFileSync(join(root, 'dockmk.yml'), configText);
  return root;
}

test('builder: auto by default; dockmk.yml, then DOCKMK_BUILDER, then --builder', () => {
  assert.is(loadConfig({}, {}, checkout()).builder, 'auto');
  const root = checkout('builder: classic\n');
  assert.is(loadConfig({}, {}, root).builder, 'classic');
  assert.is(loadConfig({}, { DOCKMK_BUILDER: 'buildkit' }, root).builder, 'buildkit');
  assert.is(loadConfig({ builder: 'auto' }, { DOCKMK_BUILDER: 'buildkit' }, root).builder, 'auto');
});

test('an unknown builder is refused where it was given', () => {
  assert.throws(() => loadConfig({}, {}, checkout('namespace: x\nbuilder: kaniko\n')), /^dockmk\.yml:2: builder "kaniko" is not known$/);
  assert.throws(() => loadConfig({}, { DOCKMK_BUILDER: 'v2' }, checkout()), /^DOCKMK_BUILDER "v2" is not known$/);
  assert.throws(() => loadConfig({ builder: 'x' }, {}, checkout()), /^--builder "x" is not known$/);
});

test.run();
