// What the registry client makes of a reply: its error words and Retry-After, the error it
// throws, and which failures are TLS ones (for the plain-HTTP fallback of insecure registries
// and the hint about a CA); and the CA certificates Docker reads from certs.d.

import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { EngineError } from '../errors.js';
import type { ImageRef } from '../model/image-ref.js';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export class RegistryError extends EngineError {
  constructor(
    message: string,
    readonly status: number | null,
    options: { hint?: string | undefined; retryAfterMs?: number | undefined } = {},
  ) {
    super(message, { hint: options.hint });
    this.retryAfterMs = options.retryAfterMs;
  }

  readonly retryAfterMs: number | undefined;
}

/** The CA certificates Docker trusts for one registry: /etc/docker/certs.d/<host[:port]>/*.crt. */
export function dockerCertificates(dir: string, domain: string): string[] {
  try {
    return readdirSync(`${dir}/${domain}`)
      .filter((name) => name.endsWith('.crt'))
      .map((name) => readFileSync(`${dir}/${domain}/${name}`, 'utf8'));
  } catch {
    return [];
  }
}

export function reference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The registry's error words: `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}`. */
export function registryWords(reply: Reply): string {
  try {
    const parsed = JSON.parse(reply.body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    return reply.body.toString('utf8').trim().slice(0, 200);
  }
}

/** `Retry-After: 5` or an HTTP date, as milliseconds from now. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function isTlsFailure(error: unknown): boolean {
  const err = error as NodeJS.ErrnoException;
  return err.code === 'EPROTO' || err.code === 'ECONNRESET' || /wrong version number|packet length too long|ssl|tls/i.test(err.message ?? '') || isCertificateFailure(error);
}

export function isCertificateFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}
