import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment.js';
import { ValidationError } from '../database/data-layer.errors.js';
import { CursorCodec } from '../tasks/cursor-codec.js';
import { MAX_PAGE_SIZE } from '../tasks/tasks.service.js';
import { codePoints, CONTROL_CHARACTERS } from '../common/text.js';
import type { IfMatch } from '../tasks/task.types.js';
import { LIST_NAME_MAX_LENGTH } from './list.entity.js';
import { ListsRepository, type ListRecord } from './lists.repository.js';

// What list cursors are bound to, in place of a task sort and filters: they pass for nothing else.
const CURSOR_SORT = 'lists:name';

export interface ListsPage {
  items: ListRecord[];
  nextCursor: string | null;
}

/** The list rules (trimming, limits, the case-insensitive name key) in front of ListsRepository. */
@Injectable()
export class ListsService {
  private readonly maxLists: number;

  constructor(
    private readonly lists: ListsRepository,
    private readonly cursors: CursorCodec,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.maxLists = config.get('MAX_LISTS_PER_USER', { infer: true });
  }

  async create(ownerId: string, rawName: unknown): Promise<ListRecord> {
    const name = this.name(rawName);
    return this.lists.create(ownerId, name, nameKey(name), this.maxLists);
  }

  async get(ownerId: string, id: string): Promise<ListRecord> {
    return this.lists.findOne(ownerId, id);
  }

  async list(ownerId: string, limit: number | undefined, cursor: string | undefined): Promise<ListsPage> {
    const size = limit ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw ValidationError.field('limit', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    let after: { name: string; id: string } | undefined;
    if (cursor !== undefined) {
      const position = this.cursors.decode(ownerId, CURSOR_SORT, '', cursor);
      if (position.key === null) throw ValidationError.field('cursor', 'is not a valid cursor for this list');
      after = { name: position.key, id: position.id };
    }
    const page = await this.lists.list(ownerId, size, after);
    return {
      items: page.items,
      nextCursor: page.next
        ? this.cursors.encode(ownerId, CURSOR_SORT, '', { key: page.next.name, id: page.next.id })
        : null,
    };
  }

  async rename(ownerId: string, id: string, rawName: unknown, ifMatch?: IfMatch): Promise<ListRecord> {
    const name = this.name(rawName);
    return this.lists.rename(ownerId, id, name, nameKey(name), ifMatch);
  }

  async delete(ownerId: string, id: string, ifMatch?: IfMatch): Promise<void> {
    return this.lists.delete(ownerId, id, ifMatch);
  }

  private name(raw: unknown): string {
    if (typeof raw !== 'string') {
      throw ValidationError.field('name', raw === undefined ? 'is required' : 'must be a string');
    }
    if (!raw.isWellFormed()) throw ValidationError.field('name', 'must be well-formed Unicode text');
    const name = raw.trim();
    const length = codePoints(name);
    if (length < 1 || length > LIST_NAME_MAX_LENGTH || CONTROL_CHARACTERS.test(name)) {
      throw ValidationError.field(
        'name',
        `must be 1 to ${LIST_NAME_MAX_LENGTH} characters after trimming, without control characters`,
      );
    }
    return name;
  }
}

/**
 * The name as compared for uniqueness: lower-cased by JavaScript's
 * toLowerCase(), as the contract says (PostgreSQL's lower() differs for
 * letters such as İ), and stored beside the name under a unique index.
 */
function nameKey(name: string): string {
  return name.toLowerCase();
}
