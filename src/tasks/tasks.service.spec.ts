import type { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment';
import { ValidationError, VersionConflictError } from '../database/data-layer.errors';
import { CursorCodec } from './cursor-codec';
import type { TaskRecord } from './task.types';
import type { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

const task: TaskRecord = {
  id: '0b6f7c2e-5d0c-4f6e-9a43-9a2f3f1a8c11',
  userId: 'u',
  title: 'T',
  description: null,
  completed: false,
  completedAt: null,
  listId: null,
  parentId: null,
  priority: 'none',
  tags: [],
  dueDate: null,
  dueTime: null,
  dueTimeZone: null,
  recurrence: null,
  position: 'a0',
  createdAt: '2026-11-26T08:15:30.123456Z',
  updatedAt: '2026-11-26T08:15:30.123456Z',
  version: 1,
};

/** What create passes for a body of only a title: every default. */
const DEFAULTS = {
  description: null,
  completed: false,
  listId: undefined,
  parentId: undefined,
  priority: 'none',
  tags: [],
  dueDate: null,
  dueTime: null,
  dueTimeZone: null,
  recurrence: null,
};
const LIMITS = { maxTasks: 100_000, idempotencyKey: undefined };

function setup() {
  const repo = {
    create: jest.fn().mockResolvedValue(task),
    findOne: jest.fn().mockResolvedValue(task),
    list: jest.fn().mockResolvedValue({ items: [], next: null }),
    update: jest.fn().mockResolvedValue(task),
    completeUnlessRecurring: jest.fn().mockResolvedValue(task),
    delete: jest.fn().mockResolvedValue(undefined),
  };
  return {
    repo,
    service: new TasksService(repo as unknown as TasksRepository, new CursorCodec('s'.repeat(32)), {
      get: () => 100_000,
    } as unknown as ConfigService<EnvironmentVariables, true>),
  };
}

async function problems(promise: Promise<unknown>) {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).errors;
}

describe('TasksService.create', () => {
  it('trims the title and fills the defaults', async () => {
    const { repo, service } = setup();
    await service.create('u', { title: '  Buy milk \n' });
    expect(repo.create).toHaveBeenCalledWith('u', { ...DEFAULTS, title: 'Buy milk' }, LIMITS);
  });

  it('counts code points: 255 emoji are allowed, 256 are not', async () => {
    const { repo, service } = setup();
    await service.create('u', { title: '😀'.repeat(255) });
    expect(repo.create).toHaveBeenCalledTimes(1);
    expect(await problems(service.create('u', { title: '😀'.repeat(256) }))).toEqual([
      { field: 'title', message: 'must be 1 to 255 characters' },
    ]);
  });

  it('reports every problem of the input together and writes nothing', async () => {
    const { repo, service } = setup();
    expect(await problems(service.create('u', { title: '   ', description: 'x'.repeat(10_001) }))).toEqual([
      { field: 'title', message: 'must be 1 to 255 characters' },
      { field: 'description', message: 'must be at most 10000 characters' },
    ]);
    expect(repo.create).not.toHaveBeenCalled();
  });

  it('refuses values of the wrong type', async () => {
    const { service } = setup();
    const input = { title: 42, description: 7 } as unknown as { title: string };
    expect(await problems(service.create('u', input))).toEqual([
      { field: 'title', message: 'must be a string' },
      { field: 'description', message: 'must be a string or null' },
    ]);
  });
});

describe('TasksService.list', () => {
  it('defaults to the newest first, 20 a page', async () => {
    const { repo, service } = setup();
    await service.list('u', {});
    expect(repo.list).toHaveBeenCalledWith('u', { sort: '-createdAt', limit: 20, after: undefined });
    await expect(service.list('u', {})).resolves.toEqual({ items: [], nextCursor: null });
  });

  it.each([0, 101, 2.5])('refuses limit %p', async (limit) => {
    const { service } = setup();
    expect(await problems(service.list('u', { limit }))).toEqual([
      { field: 'limit', message: 'must be an integer from 1 to 100' },
    ]);
  });

  it.each(['', 'q'.repeat(256)])('refuses a q of length %#', async (q) => {
    const { service } = setup();
    expect(await problems(service.list('u', { q }))).toEqual([
      { field: 'q', message: 'must be 1 to 255 characters' },
    ]);
  });
});

describe('TasksService.update', () => {
  it('passes only the given fields, trimmed, with the precondition', async () => {
    const { repo, service } = setup();
    await service.update('u', task.id, { title: ' New ', description: null }, [3]);
    expect(repo.update).toHaveBeenCalledWith(
      'u',
      task.id,
      { title: 'New', description: null },
      { ifMatch: [3], placement: {}, partialDue: false },
    );
  });

  it('refuses an empty patch', async () => {
    const { repo, service } = setup();
    expect(await problems(service.update('u', task.id, {}))).toEqual([
      {
        field: 'body',
        message:
          'must contain at least one of title, description, completed, listId, parentId, priority, tags, due, recurrence',
      },
    ]);
    expect(repo.update).not.toHaveBeenCalled();
  });

  it('refuses a blank title', async () => {
    const { service } = setup();
    expect(await problems(service.update('u', task.id, { title: ' ', completed: true }))).toEqual([
      { field: 'title', message: 'must be 1 to 255 characters' },
    ]);
  });
});

describe('TasksService.update completing a task', () => {
  const daily: TaskRecord = { ...task, dueDate: '2026-12-07', recurrence: 'FREQ=DAILY', version: 4 };

  it('completes in one write when the repository finds no uncompleted recurring task', async () => {
    const { repo, service } = setup();
    await service.update('u', task.id, { completed: true });
    expect(repo.completeUnlessRecurring).toHaveBeenCalledWith(
      'u',
      task.id,
      { completed: true },
      { ifMatch: undefined, partialDue: false },
    );
    expect(repo.findOne).not.toHaveBeenCalled();
    expect(repo.update).not.toHaveBeenCalled();
  });

  it('advances a recurring task by its rule, over the version it read', async () => {
    const { repo, service } = setup();
    repo.completeUnlessRecurring.mockResolvedValue(null);
    repo.findOne.mockResolvedValue(daily);
    await service.update('u', task.id, { completed: true, title: 'Water' });
    expect(repo.update).toHaveBeenCalledWith(
      'u',
      task.id,
      { title: 'Water', dueDate: '2026-12-08' },
      { ifMatch: [4], placement: {}, partialDue: false },
    );
  });

  it('reads again and advances from the newer due when another write got there first', async () => {
    const { repo, service } = setup();
    repo.completeUnlessRecurring.mockResolvedValue(null);
    repo.findOne
      .mockResolvedValueOnce(daily)
      .mockResolvedValueOnce({ ...daily, dueDate: '2026-12-08', version: 5 });
    repo.update.mockRejectedValueOnce(new VersionConflictError(5));
    await service.update('u', task.id, { completed: true });
    expect(repo.update.mock.calls.map((c) => [c[2], c[3].ifMatch])).toEqual([
      [{ dueDate: '2026-12-08' }, [4]],
      [{ dueDate: '2026-12-09' }, [5]],
    ]);
  });

  it('gives the 412 to a caller whose If-Match lost the race, without retrying', async () => {
    const { repo, service } = setup();
    repo.completeUnlessRecurring.mockResolvedValue(null);
    repo.update.mockRejectedValueOnce(new VersionConflictError(5));
    repo.findOne.mockResolvedValue(daily);
    await expect(service.update('u', task.id, { completed: true }, [4])).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    expect(repo.update).toHaveBeenCalledTimes(1);
  });
});

describe('TasksService.get and delete', () => {
  it('delegate to the repository with the owner', async () => {
    const { repo, service } = setup();
    await expect(service.get('u', task.id)).resolves.toBe(task);
    await service.delete('u', task.id, '*');
    expect(repo.findOne).toHaveBeenCalledWith('u', task.id);
    expect(repo.delete).toHaveBeenCalledWith('u', task.id, '*');
  });
});
