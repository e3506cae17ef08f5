// The BuildKit session of a build: a gRPC server dockmk runs on a connection the engine opens
// back (POST /session, upgraded to h2c), as the Docker CLI does. It serves two things:
//   - the auth provider (moby.filesync.v1.Auth/Credentials): the credentials of the registry host
//     BuildKit asks for (base images, cache sources), looked up per host, so a registry never
//     sees another's password;
//   - the health check (grpc.health.v1.Health/Check): BuildKit drops a session that does not
//     answer it within a second or so.
// Nothing else is exposed: the build context goes up as the request body, not through the session.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { RegistryAuth } from './engine.js';

export interface SessionOptions {
  /** Credentials for a registry host (`docker.io` for Docker Hub), or null. */
  readonly auth: (host: string) => RegistryAuth | null;
}

export interface Session {
  readonly id: string;
  /** The headers of the POST /session that opens it. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** Serves the session on the upgraded connection. */
  serve(connection: Duplex): Promise<void>;
  /** Stops serving and closes the connection. */
  close(): void;
}

const CREDENTIALS = '/moby.filesync.v1.Auth/Credentials';
const HEALTH = '/grpc.health.v1.Health/Check';

export function createSession(options: SessionOptions): Session {
  const id = randomUUID();
  let stop: (() => void) | null = null;
  return {
    id,
    headers: {
      Upgrade: 'h2c',
      'X-Docker-Expose-Session-Uuid': id,
      'X-Docker-Expose-Session-Name': 'dockmk',
      'X-Docker-Expose-Session-Sharedkey': randomBytes(16).toString('hex'),
      'X-Docker-Expose-Session-Grpc-Method': [CREDENTIALS, HEALTH],
    },
    async serve(connection) {
      const [grpc, protobuf] = await Promise.all([import('@grpc/grpc-js'), import('protobufjs/light.js').then((module) => module.default)]);
      const root = protobuf.Root.fromJSON({
        nested: {
          CredentialsRequest: { fields: { Host: { type: 'string', id: 1 } } },
          CredentialsResponse: { fields: { Username: { type: 'string', id: 1 }, Secret: { type: 'string', id: 2 } } },
          HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
          HealthCheckResponse: { fields: { status: { type: 'int32', id: 1 } } },
        },
      });
      const codec = (name: string) => {
        const type = root.lookupType(name);
        return {
          serialize: (value: object): Buffer => Buffer.from(type.encode(type.fromObject(value)).finish()),
          deserialize: (bytes: Buffer): Record<string, unknown> => type.toObject(type.decode(bytes), { defaults: true }),
        };
      };
      const method = (path: string, request: string, response: string) => {
        const req = codec(request);
        const res = codec(response);
        return {
          path,
          requestStream: false,
          responseStream: false,
          requestSerialize: req.serialize,
          requestDeserialize: req.deserialize,
          responseSerialize: res.serialize,
          responseDeserialize: res.deserialize,
        };
      };
      type Unary = (call: { request: Record<string, unknown> }, callback: (error: null, value: object) => void) => void;
      const server = new grpc.Server();
      server.addService({ Credentials: method(CREDENTIALS, 'CredentialsRequest', 'CredentialsResponse') }, {
        Credentials: ((call, callback) => callback(null, credentialsFor(String(call.request.Host ?? ''), options.auth))) as Unary,
      });
      // status 1: SERVING
      server.addService({ Check: method(HEALTH, 'HealthCheckRequest', 'HealthCheckResponse') }, {
        Check: ((_call, callback) => callback(null, { status: 1 })) as Unary,
      });
      const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
      injector.injectConnection(connection);
      stop = () => {
        injector.destroy();
        server.forceShutdown();
        connection.destroy();
      };
    },
    close() {
      stop?.();
      stop = null;
    },
  };
}

/** What the Docker CLI answers: an identity token as the secret, else user and password; nothing for an unknown host. */
function credentialsFor(host: string, auth: SessionOptions['auth']): { Username: string; Secret: string } {
  // BuildKit asks for Docker Hub by its registry host.
  const domain = host === 'registry-1.docker.io' || host === 'index.docker.io' ? 'docker.io' : host;
  const found = auth(domain);
  if (found === null) return { Username: '', Secret: '' };
  if (found.identitytoken) return { Username: '', Secret: found.identitytoken };
  return { Username: found.username ?? '', Secret: found.password ?? '' };
}
