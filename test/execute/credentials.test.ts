import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { tempDir, test } from '../helpers.js';
import { ConfigError, EngineError } from '../../src/errors.js';
import { loadCredentials, redact } from '../../src/execute/credentials.js';

function configDir(config: unknown): string {
  const dir = tempDir('dockmk-docker-config-');
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
  assert.throws(() => loadCredentials(dir), (error: unknown) => /config\.json:1:\d+: not valid JSON/.test((error as Error).message) && !/c2VjcmV0/.test((error as Error).message));
});

test('redact hides every secret', () => {
  const credentials = loadCredentials(configDir({ auths: { r: { auth: Buffer.from('u:topsecret').toString('base64') } } }));
  assert.is(redact('a topsecret b', credentials.secrets), 'a *** b');
});

test('credHelpers / credsStore through docker-credential-<name> get (a script on PATH)', () => {
  const dir = tempDir('dockmk-helper-');
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
  const dir = tempDir('dockmk-envcreds-');
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

/** A credential helper script on a PATH of its own; `run` is its body after `read server`. */
function withHelper(name: string, body: string, check: () => void): void {
  const bin = tempDir('dockmk-helper-bin-');
  const script = join(bin, `docker-credential-${name}`);
  writeFileSync(script, `#!/bin/sh\nread server\n${body}\n`);
  chmodSync(script, 0o755);
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  try {
    check();
  } finally {
    process.env.PATH = oldPath;
  }
}

function failure(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to throw');
}

test('config.json that is not JSON: file:line:column, never its text', () => {
  const dir = configDir('{\n  "auths": {\n    "reg.example": { "auth": "dTpzM2NyM3Q=" }\n  \n  "credsStore": "x"\n}\n');
  const error = failure(() => loadCredentials(dir));
  assert.ok(error instanceof ConfigError);
  assert.is(error.message, `${join(dir, 'config.json')}:5:3: not valid JSON`);
  assert.not.match(error.message + (error as ConfigError).hint, /dTpzM2NyM3Q|s3cr3t/);
  // V8 quotes the text for some errors ("Unexpected token ... is not valid JSON"): not here.
  const quoted = failure(() => loadCredentials(configDir('{"auths": {"r": {"auth": "dTpzM2NyM3Q="}}]')));
  assert.match(quoted.message, /config\.json:1:42: not valid JSON$/);
  assert.not.match(quoted.message, /dTpzM2NyM3Q/);
});

test('config.json of the wrong shape: named, not a crash', () => {
  const cases: [unknown, RegExp][] = [
    [null, /config\.json: not a JSON object$/],
    [['x'], /config\.json: not a JSON object$/],
    [{ auths: 'x' }, /config\.json: "auths" is not an object$/],
    [{ auths: { r: 'dTpzM2NyM3Q=' } }, /config\.json: the auths entry for r is not an object$/],
    [{ auths: { r: { auth: 42 } } }, /config\.json: "auth" of the auths entry for r is not a string$/],
    [{ credsStore: 'a b' }, /config\.json: "credsStore" is not the name of a credential helper$/],
    [{ credHelpers: { r: ['x'] } }, /config\.json: "credHelpers" is not an object/],
  ];
  for (const [config, message] of cases) {
    const error = failure(() => loadCredentials(configDir(JSON.stringify(config))));
    assert.ok(error instanceof ConfigError, `${JSON.stringify(config)}: ${error.stack}`);
    assert.match(error.message, message);
    assert.not.match(error.message, /dTpzM2NyM3Q/);
  }
  assert.is(loadCredentials(configDir('')).forRegistry('docker.io'), null, 'an empty file is no credentials, as for docker');
});

test('a credential helper that hangs is stopped after the timeout, named, and never quoted', () => {
  withHelper('hangs', 'echo "{\\"Username\\":\\"u\\",\\"Secret\\":\\"s3cr3t-hang\\"" \nexec sleep 60', () => {
    const creds = loadCredentials(configDir({ credHelpers: { 'reg.example': 'hangs' } }), { DOCKMK_CREDENTIAL_HELPER_TIMEOUT: '0.3' });
    const error = failure(() => creds.forRegistry('reg.example'));
    assert.ok(error instanceof EngineError, 'exit 1, like a registry that does not answer');
    assert.match(error.message, /^credential helper docker-credential-hangs \(from .*config\.json\) did not answer within 0\.3 s for reg\.example, and was stopped$/);
    assert.match((error as EngineError).hint ?? '', /echo reg\.example \| docker-credential-hangs get/);
    assert.not.match(error.message + (error as EngineError).hint, /s3cr3t/);
  });
  assert.throws(() => loadCredentials('/nonexistent', { DOCKMK_CREDENTIAL_HELPER_TIMEOUT: 'soon' }), /DOCKMK_CREDENTIAL_HELPER_TIMEOUT=soon is not a number of seconds/);
});

test('a credential helper that prints garbage is named; what it printed (a secret, maybe) is not', () => {
  const replies = ['{"Username":"u","Secret":"s3cr3t-garbage"', 'Secret: s3cr3t-garbage', '{"Username":"u","Secret":["s3cr3t-garbage"]}', '"s3cr3t-garbage"'];
  for (const reply of replies) {
    withHelper('garbage', `printf '%s' '${reply}'`, () => {
      const creds = loadCredentials(configDir({ credsStore: 'garbage' }));
      const error = failure(() => creds.forRegistry('docker.io'));
      assert.ok(error instanceof EngineError, reply);
      assert.match(error.message, /^credential helper docker-credential-garbage answered .* for docker\.io \(its output is not shown: it may hold a secret\)$/);
      assert.not.match(error.message + (error as EngineError).hint, /s3cr3t/);
    });
  }
  withHelper('stderr', `echo 's3cr3t-on-stderr' >&2\nexit 1`, () => {
    assert.is(loadCredentials(configDir({ credsStore: 'stderr' })).forRegistry('docker.io'), null, 'a helper that exits non-zero has no credentials');
  });
});

test.run();
