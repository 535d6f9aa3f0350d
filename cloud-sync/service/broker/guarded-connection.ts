/**
 * The stream aedes is given instead of the raw socket: every chunk read from the socket passes the
 * PacketGuard (packet-guard.ts) first, and a refused chunk is never handed on: the socket is
 * destroyed instead, so aedes never starts buffering an oversized packet. Writes go straight to
 * the socket, and backpressure holds both ways (the socket pauses while aedes has not read).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { GuardVerdict, PacketGuard } from './packet-guard.js';

export class GuardedConnection extends Duplex {
  constructor(
    readonly socket: Socket,
    readonly guard: PacketGuard,
    onRefused: (verdict: Exclude<GuardVerdict, { ok: true }>) => void,
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => {
      const verdict = this.guard.feed(chunk);
      if (!verdict.ok) {
        onRefused(verdict);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.once('end', () => this.push(null));
    // `on`, not `once`: a destroyed socket may still report an error, which must not go unhandled.
    socket.on('error', (error) => this.destroy(error));
    socket.once('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) {
      callback(new Error('connection closed'));
      return;
    }
    this.socket.write(chunk, encoding, callback);
  }

  /**
   * mqtt-packet writes one packet in several pieces inside cork()/uncork() (writeToStream.js), so
   * they leave as one TCP segment. Without _writev each piece would be its own socket.write, and
   * Nagle's algorithm with the peer's delayed ACK would hold the second piece for tens of
   * milliseconds (the uplink benchmark's reference, one small QoS 1 message at a time, fell to
   * 2,300 a second; with this, 24,000). Hand the corked pieces to the socket corked too.
   */
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    if (this.socket.destroyed) {
      callback(new Error('connection closed'));
      return;
    }
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) {
      const { chunk, encoding } = chunks[i] as { chunk: Buffer; encoding: BufferEncoding };
      this.socket.write(chunk, encoding);
    }
    const last = chunks[chunks.length - 1] as { chunk: Buffer; encoding: BufferEncoding };
    this.socket.write(last.chunk, last.encoding, callback);
    this.socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
