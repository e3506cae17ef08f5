import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/errors.js';
import { chooseRef, parseWriteBack } from '../../src/model/write-back.js';
import { test } from '../helpers.js';

const R = 'ghcr.io/org/openedx';
const DIGEST = `sha256:${'b'.repeat(64)}`;

test('FILE:KEY=SERVICE, nested keys, and what is refused', () => {
  assert.equal(parseWriteBack('config.yml:DOCKER_IMAGE_OPENEDX=edxapp'), { file: 'config.yml', path: ['DOCKER_IMAGE_OPENEDX'], service: 'edxapp', source: '--write-back' });
  assert.equal(parseWriteBack('deploy/values.yml:images.openedx=edxapp', 'dockmk.yml:4: writeBack').path, ['images', 'openedx']);
  for (const bad of ['config.yml', 'config.yml:KEY', ':KEY=svc', 'config.yml:=svc', 'config.yml:KEY=']) {
    assert.throws(() => parseWriteBack(bad), (error: unknown) => error instanceof ConfigError && /is not FILE:KEY=SERVICE|not a key path/.test((error as Error).message), bad);
  }
});

test('the most specific versioned tag: full semver (1.2.3 before v1.2.3), else sha-<7>, else sha-<40>', () => {
  const sha = 'a1b2c3d';
  const refs = [`${R}:sha-${sha}`, `${R}:main`, `${R}:v1.2.3`, `${R}:1.2.3`, `${R}:1.2`, `${R}:1`, `${R}:latest`];
  assert.is(chooseRef(refs, null), `${R}:1.2.3`);
  assert.is(chooseRef(refs.filter((ref) => !ref.endsWith(':1.2.3')), null), `${R}:v1.2.3`);
  assert.is(chooseRef([`${R}:main`, `${R}:sha-${sha}`, `${R}:latest`], null), `${R}:sha-${sha}`);
  assert.is(chooseRef([`${R}:sha-${'c'.repeat(40)}`, `${R}:main`], null), `${R}:sha-${'c'.repeat(40)}`);
  assert.is(chooseRef([`${R}:1.2.3-rc.1`, `${R}:sha-${sha}`], null), `${R}:1.2.3-rc.1`);
  assert.is(chooseRef([`${R}:sha-${sha}-devstack`, `${R}:latest-devstack`], null), `${R}:sha-${sha}-devstack`);
  assert.is(chooseRef(refs, DIGEST), `${R}:1.2.3@${DIGEST}`);
});

test('only moving tags: nothing to write unless a digest pins it', () => {
  assert.is(chooseRef([`${R}:latest`], null), null);
  assert.is(chooseRef([`${R}:latest`, `${R}:main`], DIGEST), `${R}:latest@${DIGEST}`);
  assert.is(chooseRef([], DIGEST), null);
});

test.run();
