/**
 * Where connections from a throttled address wait before they are closed. Closing them at once
 * invites the next one at once: a flooding client then makes thousands of TCP connections a
 * second, and accepting and closing them is what the process spends its time and heap on. Held,
 * unread (the listener pauses sockets on connect), for TARPIT_HOLD_MS, each flooding socket costs
 * one accept per hold. The number held is bounded (TARPIT_MAX_SOCKETS), past which a connection is
 * closed at once as before, so the tarpit cannot exhaust file descriptors.
 */
import type { Socket } from 'node:net';

/** How long a connection from a throttled address is held before it is closed. */
export const TARPIT_HOLD_MS = 5_000;
/**
 * Connections held at most: each is a file descriptor and a few KiB; well under the default limit
 * of open files (1024) minus what the database, the listeners and the fleet need.
 */
export const TARPIT_MAX_SOCKETS = 256;

export class Tarpit {
  private readonly held = new Set<Socket>();

  constructor(
    private readonly holdMs = TARPIT_HOLD_MS,
    private readonly maxSockets = TARPIT_MAX_SOCKETS,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Holds `socket` (never reading it) and closes it later; closes it now when full. */
  hold(socket: Socket): void {
    if (this.held.size >= this.maxSockets) {
      socket.destroy();
      return;
    }
    this.held.add(socket);
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), this.holdMs);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.held.delete(socket);
    });
  }

  /** Closes every held socket (the broker is closing). */
  releaseAll(): void {
    for (const socket of this.held) socket.destroy();
  }
}
