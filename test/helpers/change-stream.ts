import { tokenFor } from './http';

export interface Event {
  event: string;
  id: string;
  data: { kind: string; id: string; deleted: boolean; data?: Record<string, unknown> };
  /** performance.now() when it was read off the socket. */
  at: number;
}

/** An EventSource-like reader over fetch (EventSource cannot send Authorization). */
export class Stream {
  readonly events: Event[] = [];
  /** Comment lines (`: text`), each with performance.now() when it was read. */
  readonly comments: { text: string; at: number }[] = [];
  readonly ended: Promise<void>;
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];

  private constructor(readonly response: Response) {
    this.ended = this.read();
  }

  static async open(
    base: string,
    as: string,
    options: { since?: string; lastEventId?: string; token?: string } = {},
  ) {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token ?? (await tokenFor(as))}`,
    };
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    const query = options.since === undefined ? '' : `?since=${encodeURIComponent(options.since)}`;
    const controller = new AbortController();
    const response = await fetch(`${base}/api/v1/changes/stream${query}`, {
      headers,
      signal: controller.signal,
    });
    const stream = new Stream(response);
    stream.close = () => controller.abort();
    return stream;
  }

  close = () => this.controller.abort();

  /** The next `count` events (beyond those already taken), within `ms`. */
  async take(count: number, ms = 1000): Promise<Event[]> {
    await this.until(
      () => this.events.length >= count,
      ms,
      () => `only ${this.events.length} of ${count} events`,
    );
    return this.events.splice(0, count);
  }

  /** The first comment line read, waiting for it up to `ms`. */
  async comment(ms: number): Promise<{ text: string; at: number }> {
    await this.until(
      () => this.comments.length > 0,
      ms,
      () => 'no comment line',
    );
    return this.comments[0];
  }

  /** Waits, woken by each block read, until `done()` or `ms` have passed (then fails with `what()`). */
  private async until(done: () => boolean, ms: number, what: () => string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what()} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private async read(): Promise<void> {
    if (!this.response.body || this.response.status !== 200) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          for (const line of lines.filter((l) => l.startsWith(':')))
            this.comments.push({ text: line.slice(1).trimStart(), at: performance.now() });
          const fields = Object.fromEntries(
            lines
              .filter((line) => !line.startsWith(':'))
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
          );
          if (fields.event) {
            this.events.push({
              event: fields.event,
              id: fields.id,
              data: JSON.parse(fields.data) as Event['data'],
              at: performance.now(),
            });
          }
          for (const wake of this.waiters.splice(0)) wake();
        }
      }
    } catch {
      // Aborted by the test.
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}
