import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { USER_ID_MAX_LENGTH } from './task.entity.js';

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/**
 * Idempotency-Key records of task creation. Keys are per user (the primary key
 * starts with the owner), kept in PostgreSQL so every instance sees them, and
 * expire after 24 hours. `response` is null while the first request runs; then
 * it holds the created task as the repository returned it, so a retry replays
 * the first response exactly.
 */
@Entity({ tableName: 'idempotency_keys' })
@Index({ name: 'idempotency_keys_expires_idx', properties: ['expiresAt'] })
export class IdempotencyKey {
  @PrimaryKey({ type: 'string', length: USER_ID_MAX_LENGTH, fieldName: 'user_id' })
  userId!: string;

  @PrimaryKey({ type: 'string', length: IDEMPOTENCY_KEY_MAX_LENGTH })
  key!: string;

  // sha256 of the request body, to tell a retry from a reuse with another body.
  @Property({ type: 'string', length: 64, fieldName: 'request_hash' })
  requestHash!: string;

  @Property({ type: 'json', nullable: true })
  response: unknown = null;

  @Property({ type: 'datetime', length: 6, defaultRaw: 'now()', fieldName: 'locked_at' })
  lockedAt!: Date;

  @Property({ type: 'datetime', length: 6, fieldName: 'expires_at' })
  expiresAt!: Date;
}
