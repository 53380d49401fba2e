import { Injectable } from '@nestjs/common';

/**
 * Set when the process starts shutting down, so readiness turns 503 at once
 * and the load balancer stops sending traffic while in-flight requests finish.
 */
@Injectable()
export class ShutdownState {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  beginDraining(): void {
    this.draining = true;
  }
}
