import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import pg from 'pg';
import type { EnvironmentVariables } from '../config/environment.js';
import { DATABASE_TARGET } from '../database/database.module.js';
import type { DatabaseTarget } from '../database/database-url.js';
import { CHANGES_CHANNEL } from './change-triggers.js';

const RECONNECT_MS = 1000;
/**
 * How often the idle LISTEN connection is asked a `select 1`. A connection cut
 * without a reset (a NAT's idle timeout, a failover) would otherwise look up
 * for as long as TCP keepalive takes, about 11 minutes on Linux's defaults,
 * while its streams silently received nothing.
 */
export const HEARTBEAT_MS = 5000;

type Listener = (event: 'change' | 'down') => void;

/**
 * The one LISTEN connection of this instance (not one per client), on a
 * connection of its own outside the request pool, to DATABASE_DIRECT_URL (a
 * transaction pooler accepts a LISTEN and then loses its notifications, since
 * the next transaction may take that server connection). Writers notify with the
 * owner id only, at their commit (the triggers call pg_notify, which
 * PostgreSQL delivers on commit and folds within a transaction); the streams
 * of that owner on this instance are told to read their changes from the
 * feed, so an event carries exactly what GET /changes would.
 *
 * When the connection is lost, every stream is told (`down`: they end, and
 * their clients resume with Last-Event-ID), new streams are refused with 503
 * while it is down, and it reconnects by itself every second. Connecting, and
 * the heartbeat's answer, must each come within DB_CONNECT_TIMEOUT_MS.
 */
@Injectable()
export class ChangeListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeListener.name);
  private readonly listeners = new Map<string, Set<Listener>>();
  private client: pg.Client | undefined;
  private up = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;

  constructor(
    @Inject(DATABASE_TARGET) private readonly target: DatabaseTarget,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.timeoutMs = config.get('DB_CONNECT_TIMEOUT_MS', { infer: true });
  }

  get isUp(): boolean {
    return this.up;
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    this.up = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Calls `listener` on each committed change of the owner's, and when the connection goes down. */
  subscribe(ownerId: string, listener: Listener): () => void {
    let set = this.listeners.get(ownerId);
    if (!set) this.listeners.set(ownerId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(ownerId);
    };
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.target.directUrl,
      connectionTimeoutMillis: this.timeoutMs,
      // Each statement's answer too (LISTEN, and the heartbeat's select 1).
      query_timeout: this.timeoutMs,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.payload)
        for (const listener of this.listeners.get(message.payload) ?? []) listener('change');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${CHANGES_CHANNEL}`);
      this.client = client;
      this.up = true;
      this.heartbeat = setInterval(() => void this.check(client), HEARTBEAT_MS).unref();
      this.logger.log('listening for changes');
    } catch (error) {
      await client.end().catch(() => undefined);
      this.lost(client, error);
    }
  }

  private async check(client: pg.Client): Promise<void> {
    try {
      await client.query('select 1');
    } catch (error) {
      // Not awaited: on a connection that went silent, ending may never complete.
      void client.end().catch(() => undefined);
      this.lost(client, error);
    }
  }

  private lost(client: pg.Client, error?: unknown): void {
    if (this.client !== client && this.client !== undefined) return;
    if (this.client === client) {
      this.client = undefined;
      clearInterval(this.heartbeat);
    }
    const wasUp = this.up;
    this.up = false;
    if (wasUp) {
      const why = error instanceof Error ? `: ${error.message}` : '';
      this.logger.warn(`change listener lost its connection${why}`);
      for (const set of this.listeners.values()) for (const listener of set) listener('down');
    }
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped && !this.up) void this.connect();
    }, RECONNECT_MS);
    this.retry.unref();
  }
}
