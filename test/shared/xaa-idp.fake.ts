/**
 * A local enterprise IdP for Cross App Access tests: it serves its JWKS over HTTPS (the OAuth
 * library accepts only https issuers and JWKS URLs) with a self-signed certificate made by
 * `openssl` at start, which the runtime is told to trust: the runtime is started with
 * NODE_EXTRA_CA_CERTS naming `certFile`, which Miniflare hands to workerd as a trusted certificate
 * of its outbound network (Miniflare 5 takes no other per-worker TLS trust option; see
 * docs/oauth.md#cross-app-access-experimental). The tests sign ID-JAGs with the private keys
 * it hands out; `rotate()` starts publishing the second key (a key rotation).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { listen } from './local.server';

export interface XaaIdpInfo {
  /** The issuer, `https://127.0.0.1:<port>`; its JWKS is `<url>/jwks`. */
  url: string;
  /** The self-signed certificate (PEM) to trust, and the file holding it. */
  ca: string;
  certFile: string;
  /** Private JWKs by kid: `k1` is published from the start, `k2` after `rotate()`. */
  keys: Record<'k1' | 'k2', JWK>;
}

function selfSignedCertificate(dir: string): { cert: string; key: string; certFile: string } {
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8'), certFile };
}

async function signingKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const priv = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
  return { pub, priv };
}

export async function startXaaIdp(): Promise<
  XaaIdpInfo & { rotate: () => void; close: () => Promise<void> }
> {
  const dir = mkdtempSync(join(tmpdir(), 'xaa-idp-'));
  const tls = selfSignedCertificate(dir);
  const k1 = await signingKey('k1');
  const k2 = await signingKey('k2');
  let rotated = false;
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/jwks') {
      return send(200, { keys: rotated ? [k1.pub, k2.pub] : [k1.pub] });
    }
    return send(404, { error: 'not_found' });
  });
  const listening = await listen(server);
  return {
    url: listening.url,
    ca: tls.cert,
    certFile: tls.certFile,
    keys: { k1: k1.priv, k2: k2.priv },
    rotate: () => {
      rotated = true;
    },
    close: async () => {
      await listening.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
