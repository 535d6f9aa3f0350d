/**
 * The atomic configuration swap (docs/config-downlink.md): a new configuration (a cloud document,
 * a local override, a SIGHUP re-read, all validated by remote-config.ts first) goes into the
 * running modules as a whole or not at all.
 *
 *   build (alarm rules, lighting plan, poll intervals; nothing running is touched)
 *     ──> swap synchronously (alarm engine, lighting controller, bus schedulers; no await between)
 *     ──> undo of the whole swap, for a commit that fails afterwards
 *
 * Synchronous because a poll cycle must never see half of a configuration: the pipeline's flush
 * runs on the same event loop, so with no await between the modules' swaps it sees the old
 * configuration or the new one. A failure while building has changed nothing and is refused
 * (DOWNLINK_INVALID, with issues); a module refusing its swap undoes the ones already swapped
 * (DOWNLINK_SWAP_FAILED).
 */
import type { Logger } from 'pino';
import type { AlarmEngine } from '../alarms/engine.js';
import { resolveAlarmRules } from '../alarms/rules.js';
import type { AlarmRule, EngineOutput, Instant } from '../alarms/types.js';
import { planBuses, type BusPlan } from '../config/bus-plan.js';
import type { GatewayConfig } from '../config/types.js';
import type { LightingController, PreparedLighting } from '../lighting/controller.js';
import type { LoadedProfile } from '../profiles/types.js';
import { DownlinkError } from './errors.js';

/** What the swap needs of a running bus: a new poll interval and its undo. Absent: needs a restart. */
export interface IntervalBus {
  setPollInterval?(deviceId: string, pollIntervalMs: number): () => void;
}

export interface ConfigSwapOptions {
  profiles: ReadonlyMap<string, LoadedProfile>;
  engine: Pick<AlarmEngine, 'replaceRules'>;
  /** The running lighting controller; undefined: the gateway started without lighting. */
  lighting: Pick<LightingController, 'prepare' | 'reconfigure'> | undefined;
  /** The running bus that polls `deviceId`; undefined when none does. */
  busOf(deviceId: string): IntervalBus | undefined;
  logger: Logger;
}

/** The swap's alarm transitions (to be committed by the caller) and the undo of the whole swap. */
export interface SwapResult {
  output: EngineOutput;
  undo: () => void;
}

/** The alarm rules a configuration asks for: each device's profile rules with its overrides. */
export function alarmRulesOf(plans: BusPlan[], config: GatewayConfig): AlarmRule[] {
  const overrides = new Map(config.devices.map((d) => [d.id, d.alarms]));
  return plans.flatMap((plan) =>
    plan.devices.flatMap((d) => resolveAlarmRules(d.id, d.profile, overrides.get(d.id))),
  );
}

export class ConfigSwap {
  /** The configuration in force: the file's, with the document and local overrides over it. */
  private effective: GatewayConfig;

  constructor(
    initial: GatewayConfig,
    private readonly options: ConfigSwapOptions,
  ) {
    this.effective = initial;
  }

  current(): GatewayConfig {
    return this.effective;
  }

  /**
   * Builds every module's part of `next` first (alarm rules, lighting plan, poll intervals)
   * without touching the running modules, then swaps them in synchronously with no await in
   * between; if one throws, the ones already swapped are undone and DOWNLINK_SWAP_FAILED thrown.
   */
  swap(next: GatewayConfig, now: Instant): SwapResult {
    const { engine, lighting: controller, profiles, logger } = this.options;
    if ((controller === undefined) !== (next.lighting === null)) {
      throw new DownlinkError(
        'DOWNLINK_INVALID',
        'lighting control cannot be added or removed without a restart',
        {
          issues: [
            {
              pointer: '/lighting',
              message: 'adding or removing lighting control needs a restart of the gateway',
            },
          ],
        },
      );
    }
    // Build: a failure here has changed nothing, so the change is refused, not rolled back.
    let rules: AlarmRule[];
    let lighting: PreparedLighting | null;
    try {
      rules = alarmRulesOf(planBuses(next, profiles), next);
      lighting =
        controller !== undefined && next.lighting !== null ? controller.prepare(next.lighting) : null;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new DownlinkError('DOWNLINK_INVALID', message, {
        issues: [{ pointer: '', message }],
        cause: error,
      });
    }
    const current = new Map(this.effective.devices.map((d) => [d.id, d.pollIntervalMs]));
    const polls = next.devices.filter((d) => current.get(d.id) !== d.pollIntervalMs);
    for (const device of polls) {
      const bus = this.options.busOf(device.id);
      if (bus !== undefined && bus.setPollInterval === undefined)
        throw new DownlinkError(
          'DOWNLINK_INVALID',
          `the bus of ${device.id} cannot change its poll interval`,
          {
            issues: [
              {
                pointer: `/devices/${device.id}/pollIntervalMs`,
                message: 'this bus cannot change a poll interval without a restart',
              },
            ],
          },
        );
    }
    // Swap, synchronously.
    const undos: Array<() => void> = [];
    const previous = this.effective;
    try {
      if (lighting !== null && controller !== undefined) undos.push(controller.reconfigure(lighting));
      const swapped = engine.replaceRules(rules, now);
      undos.push(swapped.undo);
      for (const device of polls) {
        const undo = this.options.busOf(device.id)?.setPollInterval?.(device.id, device.pollIntervalMs);
        if (undo !== undefined) undos.push(undo);
      }
      this.effective = next;
      undos.push(() => (this.effective = previous));
      const undoAll = (): void => {
        for (const undo of [...undos].reverse()) undo();
      };
      return { output: swapped.output, undo: undoAll };
    } catch (error) {
      for (const undo of undos.reverse()) undo();
      const message = error instanceof Error ? error.message : String(error);
      logger.error(
        { err: error },
        'configuration change refused by a module; the previous configuration was restored',
      );
      throw new DownlinkError('DOWNLINK_SWAP_FAILED', `configuration change rolled back: ${message}`, {
        cause: error,
      });
    }
  }
}
