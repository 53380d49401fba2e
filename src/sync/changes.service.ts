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
/** One page read in this many also sweeps tombstones past the retention, so no cron job is needed. */
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
    const now = Math.floor(Date.now() / 1000);
    if (since && now - since.issuedAt > this.retentionDays * DAY_SECONDS) {
      throw new SyncTokenExpiredError(this.retentionDays);
    }
    if (Math.random() * SWEEP_EVERY < 1) this.sweep();

    // A first sync (no token) sends what exists; deletions only matter to a client that had something.
    const from = since?.position ?? '0';
    const rows = await this.changes.page(ownerId, from, limit + 1, since !== undefined);
    const page = rows.slice(0, limit);
    const hasMore = rows.length > limit;
    // While more is to come, the token keeps the age of the sync it continues: the tombstones
    // still to be read are no younger than that, and must not be swept before they are read.
    const issuedAt = hasMore ? (since?.issuedAt ?? now) : now;
    const position = page.length > 0 ? page[page.length - 1].position : from;
    return {
      changes: [
        ...page.filter((row) => row.kind === 'list'),
        ...page.filter((row) => row.kind === 'task'),
      ].map(toChange),
      next: this.tokens.encode(ownerId, { position, issuedAt }),
      hasMore,
    };
  }

  private sweep(): void {
    this.changes.sweep(this.retentionDays).then(
      (n) => n > 0 && this.logger.log(`swept ${n} tombstones older than ${this.retentionDays} days`),
      (error: unknown) => this.logger.warn(`sweeping old tombstones failed: ${String(error)}`),
    );
  }
}

function toChange(row: ChangeRow): ChangeResponse {
  if (row.record === null) return { kind: row.kind, id: row.id, deleted: true };
  return {
    kind: row.kind,
    id: row.id,
    deleted: false,
    data: row.kind === 'list' ? toListResponse(row.record) : toTaskResponse(row.record),
  };
}
