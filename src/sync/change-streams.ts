import type { ServerResponse } from 'node:http';
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment.js';
import { StreamsUnavailableError, TooManyStreamsError } from '../database/data-layer.errors.js';
import { changeDeliveryHistogram } from '../metrics/instruments.js';
import { ChangeListener } from './change-listener.js';
import { ChangesService, toChange } from './changes.service.js';
import type { SyncPosition } from './sync-token-codec.js';

/** Changes read per statement while a stream catches up. */
const PAGE = 100;
/**
 * What may wait in one stream's socket buffer: past it the client is not
 * reading, and the stream is closed (it resumes with Last-Event-ID) rather
 * than letting the server's memory grow.
 */
export const STREAM_BUFFER_BYTES = 1024 * 1024;
const PING_MS = 15_000;
/** setTimeout's longest delay (2^31 − 1 ms, 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long an ended stream's last bytes may take to reach the client before its connection is cut. */
const END_FLUSH_MS = 1000;

/** A stream admitted by `admit`, not yet running. */
export interface Admission {
  ownerId: string;
  from: SyncPosition;
  release: () => void;
}

/**
 * The change streams of this instance (GET /api/v1/changes/stream): admits
 * them within STREAM_MAX_CONNECTIONS and STREAM_MAX_PER_USER, and runs each:
 * what changed after its position, then each change as it commits on any
 * instance (ChangeListener), read from the feed so that an event carries
 * exactly what GET /changes would, in the order of the owner's positions,
 * each event's `id` the token after it. Ends the streams on shutdown.
 */
@Injectable()
export class ChangeStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ChangeStreams.name);
  private readonly maxConnections: number;
  private readonly maxPerUser: number;
  private readonly perUser = new Map<string, number>();
  private readonly open = new Set<() => void>();
  private total = 0;
  /** How long live changes take from their notification to their stream, for /metrics (src/metrics). */
  readonly deliveryDelay = changeDeliveryHistogram();

  constructor(
    private readonly changes: ChangesService,
    private readonly listener: ChangeListener,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.maxConnections = config.get('STREAM_MAX_CONNECTIONS', { infer: true });
    this.maxPerUser = config.get('STREAM_MAX_PER_USER', { infer: true });
  }

  /** Open streams on this instance, for /health. */
  get count(): number {
    return this.total;
  }

  get listening(): boolean {
    return this.listener.isUp;
  }

  /**
   * Checks a new stream against the limits and the LISTEN connection, and
   * finds where it starts (the token's position, or the owner's position now).
   * Throws the problem to answer before any event.
   */
  async admit(ownerId: string, token: { value: string; field: string } | undefined): Promise<Admission> {
    const since = token ? this.changes.sinceToken(ownerId, token.value, token.field) : undefined;
    if (!this.listener.isUp)
      throw new StreamsUnavailableError('Change streams are unavailable; try again shortly');
    if (this.total >= this.maxConnections)
      throw new StreamsUnavailableError(
        'This instance has no room for another change stream; try again shortly',
      );
    const mine = this.perUser.get(ownerId) ?? 0;
    if (mine >= this.maxPerUser) throw new TooManyStreamsError(this.maxPerUser);
    this.total++;
    this.perUser.set(ownerId, mine + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(ownerId) ?? 1) - 1;
      if (left === 0) this.perUser.delete(ownerId);
      else this.perUser.set(ownerId, left);
    };
    try {
      return { ownerId, from: since ?? (await this.changes.now(ownerId)), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Runs an admitted stream on a response whose headers are sent, until it ends. */
  run(admission: Admission, out: ServerResponse, expiresAt: number | undefined): void {
    const { ownerId } = admission;
    let position = admission.from;
    let reading = false;
    let again = false;
    let ended = false;
    // When the oldest notification not yet followed by a read arrived (performance.now()).
    let notifiedAt: number | undefined;

    const end = (why?: string) => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearInterval(ping);
      clearTimeout(expiry);
      this.open.delete(end);
      admission.release();
      if (why) this.logger.debug(`change stream of ${ownerId} ended: ${why}`);
      out.end();
      // A client that has stopped reading never lets the end flush; its connection
      // would hold a draining server open until the grace period.
      if (!out.writableFinished) setTimeout(() => out.destroy(), END_FLUSH_MS).unref();
    };
    const pump = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const notified = notifiedAt;
          notifiedAt = undefined;
          for (let more = true; more && !ended;) {
            const read = await this.changes.read(ownerId, position, PAGE);
            if (ended) return;
            let chunk = '';
            for (const row of read.rows) {
              const at = { position: row.position, issuedAt: read.next.issuedAt };
              chunk += `event: change\nid: ${this.changes.token(ownerId, at)}\ndata: ${JSON.stringify(toChange(row))}\n\n`;
            }
            if (chunk) out.write(chunk);
            if (notified !== undefined) {
              const seconds = (performance.now() - notified) / 1000;
              for (let i = 0; i < read.rows.length; i++) this.deliveryDelay.observe(seconds);
            }
            position = read.next;
            more = read.hasMore;
            if (out.writableLength > STREAM_BUFFER_BYTES) return end('the client is not reading');
          }
        } while (again && !ended);
      } catch (error) {
        this.logger.warn(`change stream of ${ownerId} failed: ${String(error)}`);
        end();
      } finally {
        reading = false;
      }
    };

    const unsubscribe = this.listener.subscribe(ownerId, (event) => {
      if (event === 'down') return end('the database connection was lost');
      notifiedAt ??= performance.now();
      void pump();
    });
    const ping = setInterval(() => {
      out.write(': ping\n\n');
      if (out.writableLength > STREAM_BUFFER_BYTES) end('the client is not reading');
    }, PING_MS);
    let expiry: NodeJS.Timeout | undefined;
    const armExpiry = (at: number) => {
      const left = at - Date.now();
      expiry =
        left > MAX_TIMER_MS
          ? setTimeout(() => armExpiry(at), MAX_TIMER_MS)
          : setTimeout(() => end('the token expired'), left);
    };
    if (expiresAt !== undefined) armExpiry(expiresAt);
    this.open.add(end);
    out.on('close', () => end());
    // A client that left while it was admitted closed the response before this
    // listener existed: its 'close' has already been emitted.
    if (out.destroyed) return end('the client left before the stream started');
    void pump();
  }

  beforeApplicationShutdown(): void {
    for (const end of [...this.open]) end();
  }
}
