import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotency-Key records for POST /api/v1/tasks (src/tasks/idempotency-key.entity.ts).
 * The primary key (user_id, key) makes keys per user and lets concurrent retries
 * race on one INSERT … ON CONFLICT; expires_at is indexed for the sweep that
 * removes keys older than 24 hours.
 */
export class Migration20261126084728_idempotency_keys extends Migration {
  override name = 'Migration20261126084728_idempotency_keys';

  override up(): void {
    this.addSql(
      `create table "idempotency_keys" (` +
        `"user_id" varchar(128) not null, ` +
        `"key" varchar(255) not null, ` +
        `"request_hash" varchar(64) not null, ` +
        `"response" jsonb null, ` +
        `"locked_at" timestamptz(6) not null default now(), ` +
        `"expires_at" timestamptz(6) not null, ` +
        `primary key ("user_id", "key"));`,
    );
    this.addSql(`create index "idempotency_keys_expires_idx" on "idempotency_keys" ("expires_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "idempotency_keys";`);
  }
}
