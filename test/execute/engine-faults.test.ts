// An address that is not an engine dockmk can use, met at the first call (the ping): what
// answers there is a stand-in on a socket of the test's own — an engine of 2016 (Docker 1.12,
// API 1.24, answering as its API reference says), a web server, a service that does not speak
// HTTP. The real cases (a registry's port, a socket of another user, a killed engine) are in
// test/it/engine-faults.test.ts.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { EngineError } from '../../src/errors.js';
import { connectEngine } from '../../src/execute/docker.js';
import { compareVersions, MIN_API_VERSION } from '../../src/execute/engine-faults.js';
import { imageRef } from '../../src/model/image-ref.js';
import { tempDir, test } from '../helpers.js';

async function listen(server: Server): Promise<{ address: string; close: () => Promise<void> }> {
  const socket = join(tempDir('dockmk-engine-faults-'), 'engine.sock');
  const open = new Set<Socket>();
  server.on('connection', (connection: Socket) => open.add(connection).size);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const connection of open) connection.destroy();
      server.close(() => resolve());
    });
  return { address: `unix://${socket}`, close };
}

async function pingError(server: Server): Promise<EngineError> {
  const { address, close } = await listen(server);
  try {
    const error = await connectEngine(address, {}).ping(new AbortController().signal).then(() => null, (caught: unknown) => caught);
    assert.instance(error, EngineError, `the ping of ${address} fails with an EngineError, not ${String(error)}`);
    return error as EngineError;
  } finally {
    await close();
  }
}

const http = (handler: (req: IncomingMessage, res: ServerResponse) => void) => createHttpServer(handler) as unknown as Server;

test('an engine older than API 1.25: named by its version, and what is needed', async () => {
  const seen: string[] = [];
  const error = await pingError(
    http((req, res) => {
      seen.push(req.url ?? '');
      // Docker 1.12 sends no API-Version header on /_ping; its /version says it.
      if (req.url === '/_ping') res.end('OK');
      else if (req.url === '/version') res.end(JSON.stringify({ Version: '1.12.6', ApiVersion: '1.24', Os: 'linux', Arch: 'amd64' }));
      else res.writeHead(404).end('{"message":"page not found"}');
    }),
  );
  assert.match(error.message, /^the engine at unix:\/\/.*engine\.sock \(Docker 1\.12\.6\) speaks Engine API 1\.24, and dockmk needs 1\.25 \(Docker 1\.13\) or later; nothing was built$/);
  assert.match(error.hint ?? '', /^upgrade the engine, or point DOCKER_HOST or --engine at a newer engine/);
  assert.equal(seen, ['/_ping', '/version']);
});

test('an engine that says API 1.41 in the ping header is not asked again', async () => {
  const seen: string[] = [];
  const { address, close } = await listen(
    http((req, res) => {
      seen.push(req.url ?? '');
      res.setHeader('API-Version', '1.41');
      res.end('OK');
    }),
  );
  try {
    await connectEngine(address, {}).ping(new AbortController().signal);
    assert.equal(seen, ['/_ping'], 'one call: a run that builds nothing pays for no /version');
  } finally {
    await close();
  }
});

test('a web server at the address: it answers, but not as an engine', async () => {
  const page = await pingError(http((_req, res) => res.end('<!doctype html><html><body>Welcome to nginx!</body></html>')));
  assert.match(page.message, /answers, but not as a Docker engine: GET \/_ping answered "<!doctype html><html><body>Welcome to nginx!<\/body><\/html>", where an engine answers "OK"$/);
  assert.match(page.hint ?? '', /another service \(a registry, an SSH server\)\? point DOCKER_HOST or --engine at the engine/);
  const missing = await pingError(http((_req, res) => res.writeHead(404).end('404 page not found\n')));
  assert.match(missing.message, /answers, but not as a Docker engine: GET \/_ping answered HTTP 404 \("404 page not found"\)$/);
});

test('a service that does not speak HTTP (an SSH server): one line, its bytes not printed raw', async () => {
  const error = await pingError(
    createNetServer((socket) => {
      socket.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\u0000\u0001\u00ff');
    }),
  );
  assert.match(error.message, /answers, but not as a Docker engine: what it answered is not HTTP \(.*\)$/);
  assert.not.match(error.message, /[\u0000-\u001f]/, 'no control characters');
});

test('an image list or inspect that is not the Engine API\'s JSON: named with the call, not a TypeError', async () => {
  const { address, close } = await listen(
    http((req, res) => {
      res.setHeader('API-Version', '1.41');
      if (req.url === '/_ping') res.end('OK');
      else if (req.url === '/version') res.end(JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41', Os: 'linux' }));
      else if (req.url?.startsWith('/images/json')) res.end('{"not":"a list"}');
      else res.end('<html>busy</html>');
    }),
  );
  try {
    const engine = connectEngine(address, {});
    const list = await (engine.listImages as () => Promise<unknown>)().then(() => null, (error: unknown) => error as EngineError);
    assert.match(list?.message ?? '', /^could not list the images: the engine at unix:.* answered GET \/images\/json with something that is not the Engine API's JSON \("\{"not":"a list"\}"\)$/);
    assert.match(list?.hint ?? '', /is DOCKER_HOST \(or --engine\) the address of a Docker engine/);
    const inspect = await engine.inspectImage(imageRef('app', 'test', null)).then(() => null, (error: unknown) => error as EngineError);
    assert.match(inspect?.message ?? '', /^could not inspect app:test: the engine at unix:.* answered GET \/images\/app:test\/json with something that is not the Engine API's JSON \("<html>busy<\/html>"\)$/);
  } finally {
    await close();
  }
});

test('API versions compare part by part', () => {
  assert.is(compareVersions('1.9', '1.25'), -1);
  assert.is(compareVersions('1.24', MIN_API_VERSION), -1);
  assert.is(compareVersions('1.25', MIN_API_VERSION), 0);
  assert.is(compareVersions('1.41', MIN_API_VERSION), 1);
  assert.is(compareVersions('2.0', '1.41'), 1);
  assert.is(compareVersions('', '1.25'), -1, 'an unreadable version is too old');
});

test.run();
