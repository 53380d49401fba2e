import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type AsymmetricAlg = 'RS256' | 'ES256' | 'EdDSA';

/** A private key to sign with, and its public JWK (with kid and alg) to publish or not. */
export interface SigningKey {
  alg: AsymmetricAlg;
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

let kids = 0;

export async function signingKey(
  alg: AsymmetricAlg,
  kid = `${alg.toLowerCase()}-${++kids}`,
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A token signed with the key, naming its kid; `exp` five minutes ahead. */
export function signWith(
  key: SigningKey,
  sub: string,
  header: { kid?: string } = { kid: key.kid },
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, ...header })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

export interface JwksServer {
  url: string;
  /** The key set served; replace it to rotate keys. */
  keys: JWK[];
  /** `ok` serves the set; `error` answers 500; `garbage` answers 200 with a body that is not a key set. */
  mode: 'ok' | 'error' | 'garbage';
  /** How many times the key set was asked for. */
  hits: number;
  /** Stops listening (the identity provider is down); idempotent. */
  close(): Promise<void>;
}

/**
 * A JWKS endpoint on a random loopback port. Connections are short-lived and
 * every request is answered at once, so closing it never waits on a client.
 */
export async function startJwksServer(keys: JWK[] = []): Promise<JwksServer> {
  const state: JwksServer = {
    url: '',
    keys,
    mode: 'ok',
    hits: 0,
    close: async () => {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
  const server = createServer((req, res) => {
    state.hits++;
    if (state.mode === 'error') {
      res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('identity provider down');
    } else if (state.mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end('{"keys":"nope"}');
    } else {
      res
        .writeHead(200, { 'content-type': 'application/jwk-set+json', connection: 'close' })
        .end(JSON.stringify({ keys: state.keys }));
    }
  });
  server.keepAliveTimeout = 100;
  server.requestTimeout = 2000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return state;
}
