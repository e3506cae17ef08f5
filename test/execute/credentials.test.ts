import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCredentials, redact } from '../../src/execute/credentials.js';

function configDir(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dockmk-docker-config-'));
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

test('reads auths: base64 auth, username/password, Docker Hub under its v1 key', () => {
  const credentials = loadCredentials(
    configDir({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub:pass').toString('base64') },
        'http://localhost:5000/': { username: 'local', password: 'pw' },
        'ghcr.io': { identitytoken: 'tok' },
      },
    }),
  );
  assert.equal(credentials.forRegistry('docker.io'), { serveraddress: 'https://index.docker.io/v1/', username: 'hubuser', password: 'hub:pass' });
  assert.equal(credentials.forRegistry('localhost:5000'), { serveraddress: 'localhost:5000', username: 'local', password: 'pw' });
  assert.equal(credentials.forRegistry('ghcr.io'), { serveraddress: 'ghcr.io', identitytoken: 'tok' });
  assert.is(credentials.forRegistry('quay.io'), null);
});

test('no config file means no credentials; a broken one is named without quoting it', () => {
  assert.is(loadCredentials('/nonexistent').forRegistry('docker.io'), null);
  const dir = configDir('{"auths": {"x": {"auth": "c2VjcmV0"}');
  assert.throws(() => loadCredentials(dir), (error: unknown) => /config\.json is not valid JSON/.test((error as Error).message) && !/c2VjcmV0/.test((error as Error).message));
});

test('redact hides every secret', () => {
  const credentials = loadCredentials(configDir({ auths: { r: { auth: Buffer.from('u:topsecret').toString('base64') } } }));
  assert.is(redact('a topsecret b', credentials.secrets), 'a *** b');
});

test.run();
