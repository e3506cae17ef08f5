import * as assert from 'uvu/assert';
import { parseConfigFile, resolveConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { test } from '../helpers.js';

test('writeBack: in dockmk.yml takes the entries --write-back takes, each naming its line', () => {
  const file = parseConfigFile('namespace: edxops\nwriteBack:\n  - deploy/config.yml:DOCKER_IMAGE_OPENEDX=edxapp\n  - "deploy/values.yml:images.forum=forum"\n', 'dockmk.yml');
  assert.equal(file.writeBack, [
    { file: 'deploy/config.yml', path: ['DOCKER_IMAGE_OPENEDX'], service: 'edxapp', source: 'dockmk.yml:3: writeBack' },
    { file: 'deploy/values.yml', path: ['images', 'forum'], service: 'forum', source: 'dockmk.yml:4: writeBack' },
  ]);
  assert.equal(resolveConfig('/repo', file, {}, {}).writeBack.length, 2);
  assert.equal(resolveConfig('/repo', {}, {}, {}).writeBack, []);
});

test('a writeBack: that is not a list of FILE:KEY=SERVICE is refused at its line', () => {
  assert.throws(() => parseConfigFile('writeBack: config.yml:KEY=svc\n', 'dockmk.yml'), (error: unknown) => error instanceof ConfigError && /^dockmk\.yml:1: writeBack must be a list/.test((error as Error).message));
  assert.throws(() => parseConfigFile('writeBack:\n  - config.yml\n', 'dockmk.yml'), (error: unknown) => error instanceof ConfigError && /^dockmk\.yml:2: writeBack "config\.yml" is not FILE:KEY=SERVICE/.test((error as Error).message));
});

test.run();
