import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment.js';
import { SyncTokenExpiredError, ValidationError, type FieldProblem } from '../database/data-layer.errors.js';
import { toListResponse } from '../lists/list.response.js';
import { toTaskResponse } from '../tasks/task.response.js';
import type { ChangeResponse, ChangesPageResponse } from './change.response.js';
import { ChangesRepository, type ChangeRow } from './changes.repository.js';
import { SyncTokenCodec, type SyncPosition } from './sync-token-codec.js';

export const DEFAULT_CHANGES_LIMIT = 100;
export const MAX_CHANGES_LIMIT = 1000;
/** One feed read in this many (a page, or a stream's read) also sweeps tombstones past the retention: no cron job needed. */
const SWEEP_EVERY = 100;
const DAY_SECONDS = 86_400;

export interface ChangesRequest {
  since?: string;
  limit?: number;
}

/**
 * The change feed of the contract (GET /api/v1/changes): checks the request,
 * reads a page past the token's position, and hands out the next token.
 */
@Injectable()
export class ChangesService {
  private readonly logger = new Logger(ChangesService.name);
  private readonly retentionDays: number;

  constructor(
    private readonly changes: ChangesRepository,
    private readonly tokens: SyncTokenCodec,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.retentionDays = config.get('CHANGE_RETENTION_DAYS', { infer: true });
  }

  async page(ownerId: string, request: ChangesRequest): Promise<ChangesPageResponse> {
    const problems: FieldProblem[] = [];
    const limit = request.limit ?? DEFAULT_CHANGES_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CHANGES_LIMIT) {
      problems.push({ field: 'limit', message: `must be an integer from 1 to ${MAX_CHANGES_LIMIT}` });
    }
    let since: SyncPosition | undefined;
    if (request.since !== undefined) {
      try {
        since = this.tokens.decode(ownerId, request.since);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        problems.push(...error.errors);
      }
    }
    if (problems.length > 0) throw new ValidationError(problems);
    if (since) this.checkAge(since);

    const read = await this.read(ownerId, since, limit);
    return {
      // A page's lists first, so that a client can place its tasks.
      changes: [
        ...read.rows.filter((r) => r.kind === 'list'),
        ...read.rows.filter((r) => r.kind === 'task'),
      ].map(toChange),
      next: this.tokens.encode(ownerId, read.next),
      hasMore: read.hasMore,
    };
  }

  /** The position a sync token gives (400 when it is not one of the owner's, 410 when too old). */
  sinceToken(ownerId: string, token: string, field: string): SyncPosition {
    const since = this.tokens.decode(ownerId, token, field);
    this.checkAge(since);
    return since;
  }

  /** The owner's position now, as a token's would be: where a stream without a token starts. */
  async now(ownerId: string): Promise<SyncPosition> {
    return { position: await this.changes.currentPosition(ownerId), issuedAt: nowSeconds() };
  }

  /**
   * Up to `limit` changes after `since` (none given: a first sync, without
   * deletions), in the order of their last change, and the position after them.
   */
  async read(
    ownerId: string,
    since: SyncPosition | undefined,
    limit: number,
  ): Promise<{ rows: ChangeRow[]; next: SyncPosition; hasMore: boolean }> {
    // Streams read here too, so tombstones are swept whichever way clients sync.
    if (Math.random() * SWEEP_EVERY < 1) this.sweep();
    const from = since?.position ?? '0';
    const rows = await this.changes.page(ownerId, from, limit + 1, since !== undefined);
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    const now = nowSeconds();
    // While more is to come, the token keeps the age of the sync it continues: the tombstones
    // still to be read are no younger than that, and must not be swept before they are read.
    const issuedAt = hasMore ? (since?.issuedAt ?? now) : now;
    return { rows: page, next: { position: page.at(-1)?.position ?? from, issuedAt }, hasMore };
  }

  /** The token of a position: the `id` of a stream event. */
  token(ownerId: string, position: SyncPosition): string {
    return this.tokens.encode(ownerId, position);
  }

  private checkAge(since: SyncPosition): void {
    if (nowSeconds() - since.issuedAt > this.retentionDays * DAY_SECONDS) {
      throw new SyncTokenExpiredError(this.retentionDays);
    }
  }

  private sweep(): void {
    this.changes.sweep(this.retentionDays).then(
      (n) => n > 0 && this.logger.log(`swept ${n} tombstones older than ${this.retentionDays} days`),
      (error: unknown) => this.logger.warn(`sweeping old tombstones failed: ${String(error)}`),
    );
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function toChange(row: ChangeRow): ChangeResponse {
  if (row.record === null) return { kind: row.kind, id: row.id, deleted: true };
  return {
    kind: row.kind,
    id: row.id,
    deleted: false,
    data: row.kind === 'list' ? toListResponse(row.record) : toTaskResponse(row.record),
  };
}
