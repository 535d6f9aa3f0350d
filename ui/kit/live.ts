/**
 * The live-stream client (docs/ui.md, "Live updates"): one EventSource on /api/live for the whole
 * page. The server sends `hello`, then changes (api-types.ts, LiveEvents); a client that falls
 * behind is disconnected by the server and comes back by itself.
 *
 * EventSource reconnects on its own after a network drop, but not after an HTTP error (a 401 when
 * the session ended, a 503): then it is closed and this client reopens it after a growing pause
 * (1 s doubling to 30 s), so a cabinet that restarts is followed without a reload.
 */
import { signal } from '@preact/signals';
import type { LiveEventName, LiveEvents } from '../../gateway/web/api-types.js';

export type LiveState = 'connecting' | 'open' | 'closed';

export type LiveHandlers = { [K in LiveEventName]?: (data: LiveEvents[K]) => void };

export const liveState = signal<LiveState>('closed');

const EVENT_NAMES: readonly LiveEventName[] = ['hello', 'values', 'alarm', 'bus', 'uplink', 'lighting'];

/** Opens the stream; the returned function closes it for good (sign-out). */
export function connectLive(url: string, handlers: LiveHandlers): () => void {
  let source: EventSource | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let pauseMs = 1000;
  let stopped = false;

  const open = (): void => {
    if (stopped) return;
    liveState.value = 'connecting';
    const es = new EventSource(url, { withCredentials: true });
    source = es;
    es.onopen = () => {
      liveState.value = 'open';
      pauseMs = 1000;
    };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        liveState.value = 'closed';
        source = null;
        if (!stopped) {
          retryTimer = setTimeout(open, pauseMs);
          pauseMs = Math.min(pauseMs * 2, 30_000);
        }
      } else {
        liveState.value = 'connecting';
      }
    };
    for (const name of EVENT_NAMES) {
      es.addEventListener(name, (event: MessageEvent<string>) => {
        let data: unknown;
        try {
          data = JSON.parse(event.data) as unknown;
        } catch {
          // A broken frame is skipped; the next one (or the next snapshot fetch) repairs the view.
          return;
        }
        const handler = handlers[name] as ((data: unknown) => void) | undefined;
        handler?.(data);
      });
    }
  };

  open();
  return () => {
    stopped = true;
    if (retryTimer !== null) clearTimeout(retryTimer);
    source?.close();
    source = null;
    liveState.value = 'closed';
  };
}
