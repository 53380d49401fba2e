import { SignedTokens } from '../common/signed-token.js';
import { ValidationError } from '../database/data-layer.errors.js';
import type { KeysetPosition } from './task.types.js';

interface CursorPayload {
  s: string;
  f: string;
  k: string | null;
  i: string;
}

/**
 * Opaque list cursors: the keyset position, the sort and the filters it
 * belongs to (a digest of them), signed with the owner (SignedTokens, under a
 * key for cursors alone), so a cursor that was altered, forged, made for
 * another sort or other filters, handed to another user, or a sync token, is
 * refused.
 */
export class CursorCodec {
  private readonly tokens: SignedTokens;

  constructor(secret: string) {
    this.tokens = new SignedTokens(secret, 'list-cursor');
  }

  encode(ownerId: string, sort: string, filters: string, position: KeysetPosition): string {
    const body: CursorPayload = { s: sort, f: filters, k: position.key, i: position.id };
    return this.tokens.seal(ownerId, body);
  }

  decode(ownerId: string, sort: string, filters: string, cursor: string): KeysetPosition {
    const decoded = this.tokens.open(ownerId, cursor) as Partial<CursorPayload> | null | undefined;
    if (
      typeof decoded !== 'object' ||
      decoded === null ||
      decoded.s !== sort ||
      decoded.f !== filters ||
      typeof decoded.i !== 'string' ||
      (typeof decoded.k !== 'string' && decoded.k !== null)
    ) {
      throw ValidationError.field('cursor', 'is not a valid cursor for this list');
    }
    return { key: decoded.k, id: decoded.i };
  }
}
