import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../helpers.js';
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

test('credHelpers / credsStore through docker-credential-<name> get (a script on PATH)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dockmk-helper-'));
  const bin = join(dir, 'bin');
  writeFileSync(join(dir, 'in'), '');
  require_mkdir(bin);
  const script = join(bin, 'docker-credential-fake');
  writeFileSync(script, `#!/bin/sh\nread server\necho "$server" > ${join(dir, 'in')}\ncase "$server" in\n  reg.example:5000) echo '{"ServerURL":"reg.example:5000","Username":"ci","Secret":"s3cr3t-from-helper"}';;\n  *) echo 'credentials not found in native keychain'; exit 1;;\nesac\n`);
  chmodSync(script, 0o755);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'reg.example:5000': 'fake' }, auths: { 'other.example': { auth: Buffer.from('u:p4ss').toString('base64') } } }));
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  try {
    const creds = loadCredentials(dir);
    assert.equal(creds.forRegistry('reg.example:5000'), { serveraddress: 'reg.example:5000', username: 'ci', password: 's3cr3t-from-helper' });
    assert.ok(creds.secrets.includes('s3cr3t-from-helper'));
    assert.is(redact('token s3cr3t-from-helper here', creds.secrets), 'token *** here');
    assert.equal(creds.forRegistry('other.example')?.username, 'u');
    const store = loadCredentials(writeConfig(dir, { credsStore: 'fake' }));
    assert.is(store.forRegistry('docker.io'), null);
  } finally {
    process.env.PATH = oldPath;
  }
});

test('DOCKER_USERNAME / DOCKER_PASSWORD for the configured registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dockmk-envcreds-'));
  const creds = loadCredentials(dir, { DOCKER_USERNAME: 'bot', DOCKER_PASSWORD: 'envpass' }, '127.0.0.1:5055');
  assert.equal(creds.forRegistry('127.0.0.1:5055'), { serveraddress: '127.0.0.1:5055', username: 'bot', password: 'envpass' });
  assert.is(creds.forRegistry('docker.io'), null);
  assert.ok(creds.secrets.includes('envpass'));
  assert.equal(loadCredentials(dir, { DOCKER_USERNAME: 'bot', DOCKER_PASSWORD: 'x1y2' }).forRegistry('docker.io')?.serveraddress, 'https://index.docker.io/v1/');
});

function require_mkdir(path: string): void {
  mkdirSync(path, { recursive: true });
}

function writeConfig(parent: string, config: object): string {
  const dir = mkdtempSync(join(parent, 'cfg-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

test.run();
