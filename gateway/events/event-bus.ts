/**
 * The gateway's typed event bus (ARCHITECTURE.md, "The path of one reading": every arrow goes one
 * way; a module never reaches back up the path, it publishes here instead). Synchronous delivery in
 * subscription order; a throwing listener is logged and does not stop the others or the publisher.
 *
 * Everything here is announced AFTER the commit that made it durable, never before:
 * `store:committed` by the one Committer every writer commits through (store/committer.ts), the
 * rest by Pipeline.announce. Who listens today (ARCHITECTURE.md, "The event
 * bus"): the uplink (`store:committed`, `storage:changed`, wired in gateway.ts) and the demo's
 * console (`alarm:changed`, `strain:overweight`, wired in simulators/demo.ts). The other events
 * have no listener outside the tests yet; they are there for a local web UI, which is not built.
 */
import type { Logger } from 'pino';
import type {
  AlarmChatteringEvent,
  AlarmTransitionEvent,
  LightingActionEvent,
  OverweightEvent,
  StrainStatisticsEvent,
  VehicleEvent,
} from '../../cloud-sync/contract/events.js';
import type { DevicePollResult } from '../bus/types.js';
import type { StorageState } from '../store/storage-guard.js';

/** Every event on the bus with its payload type. */
export interface GatewayEventMap {
  /** A device poll whose readings are committed (pipeline). No listener outside the tests yet. */
  'poll:result': DevicePollResult;
  /** A committed alarm transition (pipeline -> the demo's console). */
  'alarm:changed': AlarmTransitionEvent & { wallTimeMs: number; monotonicMs: number };
  'alarm:chattering': AlarmChatteringEvent;
  /** Events committed to the outbox, seqs inclusive (the Committer, for every writer -> uplink: send now). */
  'store:committed': { fromSeq: number; toSeq: number; count: number };
  'lighting:action': LightingActionEvent;
  'strain:vehicle': VehicleEvent;
  'strain:overweight': OverweightEvent;
  /** A committed minute of strain statistics (pipeline -> the cabinet web UI's strain page). */
  'strain:statistics': StrainStatisticsEvent;
  /** The storage state moved (pipeline -> uplink status, sent at once): ok, low or full. */
  'storage:changed': StorageState;
}

export type GatewayEventName = keyof GatewayEventMap;
type Listener<K extends GatewayEventName> = (payload: GatewayEventMap[K]) => void;

export class EventBus {
  private readonly listeners = new Map<GatewayEventName, Set<Listener<GatewayEventName>>>();

  constructor(private readonly logger?: Logger) {}

  on<K extends GatewayEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<GatewayEventName>);
    return () => set.delete(listener as Listener<GatewayEventName>);
  }

  emit<K extends GatewayEventName>(name: K, payload: GatewayEventMap[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<K>)(payload);
      } catch (error) {
        this.logger?.error({ err: error, event: name }, 'event listener failed');
      }
    }
  }

  listenerCount(name: GatewayEventName): number {
    return this.listeners.get(name)?.size ?? 0;
  }
}
