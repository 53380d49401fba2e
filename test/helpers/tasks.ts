import type { NewTask } from '../../src/tasks/task.types';

/** A new task for the repository: every column TasksService would decide, at its default. */
export function newTask(data: Partial<NewTask> & { title: string }): NewTask {
  return {
    description: null,
    completed: false,
    listId: null,
    parentId: null,
    priority: 'none',
    tags: [],
    dueDate: null,
    dueTime: null,
    dueTimeZone: null,
    recurrence: null,
    ...data,
  };
}

/** The repository's create options with a quota no test reaches. */
export const LIMITS = { maxTasks: 100_000 };
