import { SignedTokens } from '../common/signed-token.js';
import { ValidationError } from '../database/data-layer.errors.js';

/** What a sync token carries: the owner's change position, and when it was handed out. */
export interface SyncPosition {
  /** A change position of the owner's (owners.change_seq), as a decimal string: it is a bigint. */
  position: string;
  /** Seconds since the epoch. */
  issuedAt: number;
}

interface TokenPayload {
  p: string;
  t: number;
}

const POSITION = /^(0|[1-9][0-9]{0,17})$/;

/**
 * Opaque sync tokens for the change feed: the owner's position and the time
 * it was handed out, signed with the owner (SignedTokens, under a key for sync
 * tokens alone), so an altered token, another user's, or a list cursor is
 * refused. Nothing cluster-wide is in it: the position is the owner's own.
 */
export class SyncTokenCodec {
  private readonly tokens: SignedTokens;

  constructor(secret: string) {
    this.tokens = new SignedTokens(secret, 'sync-token');
  }

  encode(ownerId: string, { position, issuedAt }: SyncPosition): string {
    const body: TokenPayload = { p: position, t: issuedAt };
    return this.tokens.seal(ownerId, body);
  }

  decode(ownerId: string, token: string, field = 'since'): SyncPosition {
    const decoded = this.tokens.open(ownerId, token) as Partial<TokenPayload> | null | undefined;
    if (
      typeof decoded !== 'object' ||
      decoded === null ||
      typeof decoded.p !== 'string' ||
      !POSITION.test(decoded.p) ||
      typeof decoded.t !== 'number' ||
      !Number.isInteger(decoded.t)
    ) {
      throw ValidationError.field(field, 'is not a valid sync token');
    }
    return { position: decoded.p, issuedAt: decoded.t };
  }
}
