/**
 * The atomic configuration swap (gateway/downlink/config-swap.ts) on fake modules: a change the
 * running gateway cannot take is refused before anything is touched (DOWNLINK_INVALID); a module
 * refusing its part undoes the parts already swapped (DOWNLINK_SWAP_FAILED); a swap's undo brings
 * back every module and the configuration in force.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { AlarmRule, EngineOutput } from '../../../gateway/alarms/types.js';
import type { GatewayConfig } from '../../../gateway/config/types.js';
import { validateGatewayConfig } from '../../../gateway/config/validate.js';
import {
  ConfigSwap,
  type ConfigSwapOptions,
  type IntervalBus,
} from '../../../gateway/downlink/config-swap.js';
import { isDownlinkError } from '../../../gateway/downlink/errors.js';
import type { PreparedLighting } from '../../../gateway/lighting/controller.js';
import type { LightingConfig } from '../../../gateway/lighting/types.js';
import { PROFILES, validDocument } from '../config/fixtures.js';
import { lightingConfig } from '../lighting/helpers.js';

const NOW = { monoMs: 1_000, wallMs: Date.UTC(2025, 0, 1) };
const NO_OUTPUT: EngineOutput = { transitions: [], chattering: [], records: [] };

function config(change: (doc: Record<string, unknown>) => void = () => undefined): GatewayConfig {
  const doc = validDocument();
  change(doc);
  const result = validateGatewayConfig(doc, PROFILES, { baseDir: '/srv/kerbside' });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

/** gas-1 polls every 500 ms instead of its profile's 2 s. */
const fasterGas = (): GatewayConfig =>
  config((doc) => {
    const devices = doc['devices'] as Array<Record<string, unknown>>;
    (devices[0] as Record<string, unknown>)['pollIntervalMs'] = 500;
  });

/** Fake modules that note what was swapped and undone, in order. */
function rig(options: { bus?: IntervalBus; lighting?: boolean; engineThrows?: boolean } = {}) {
  const log: string[] = [];
  const bus: IntervalBus = options.bus ?? {
    setPollInterval(deviceId, ms) {
      log.push(`bus ${deviceId} ${ms}`);
      return () => log.push(`bus undo ${deviceId}`);
    },
  };
  const swapOptions: ConfigSwapOptions = {
    profiles: PROFILES,
    engine: {
      replaceRules(rules: AlarmRule[]) {
        if (options.engineThrows === true) throw new Error('ALARM_RULE_INVALID: duplicate rule');
        log.push(`engine ${rules.length} rules`);
        return { output: NO_OUTPUT, undo: () => log.push('engine undo') };
      },
    },
    lighting:
      options.lighting === true
        ? {
            prepare(lighting: LightingConfig): PreparedLighting {
              if (lighting.timezone === 'Mars/Olympus') throw new Error('LIGHTING_BAD_CONFIG: no such zone');
              log.push('lighting prepared');
              return {
                config: lighting,
                plan: { devices: [], targets: new Map() } as unknown as PreparedLighting['plan'],
              };
            },
            reconfigure() {
              log.push('lighting swapped');
              return () => log.push('lighting undo');
            },
          }
        : undefined,
    busOf: (deviceId) => (deviceId === 'gas-1' ? bus : undefined),
    logger: pino({ level: 'silent' }),
  };
  const initial = options.lighting === true ? { ...config(), lighting: lightingConfig() } : config();
  return { swap: new ConfigSwap(initial, swapOptions), initial, log };
}

describe('ConfigSwap', () => {
  it('swaps every module, makes the new configuration the one in force, and undoes it all in reverse', () => {
    const { swap, initial, log } = rig();
    const next = fasterGas();
    const result = swap.swap(next, NOW);
    assert.equal(swap.current(), next);
    // Four devices, each with its communication rule (the fake profiles have no others).
    assert.deepEqual(log, ['engine 4 rules', 'bus gas-1 500']);
    result.undo();
    assert.equal(swap.current(), initial);
    assert.deepEqual(log.slice(2), ['bus undo gas-1', 'engine undo']);
  });

  it('refuses a poll interval a bus cannot change, before touching anything', () => {
    const { swap, initial, log } = rig({ bus: {} });
    assert.throws(
      () => swap.swap(fasterGas(), NOW),
      (e: unknown) =>
        isDownlinkError(e, 'DOWNLINK_INVALID') && e.issues[0]?.pointer === '/devices/gas-1/pollIntervalMs',
    );
    assert.equal(swap.current(), initial);
    assert.deepEqual(log, []);
  });

  it('refuses adding or removing lighting control: that needs a restart', () => {
    const { swap } = rig();
    assert.throws(
      () => swap.swap({ ...config(), lighting: lightingConfig() }, NOW),
      (e: unknown) => isDownlinkError(e, 'DOWNLINK_INVALID') && e.issues[0]?.pointer === '/lighting',
    );
    const lit = rig({ lighting: true });
    assert.throws(
      () => lit.swap.swap(config(), NOW),
      (e: unknown) => isDownlinkError(e, 'DOWNLINK_INVALID') && e.issues[0]?.pointer === '/lighting',
    );
  });

  it('a module that cannot build its part refuses the change; nothing was swapped', () => {
    const { swap, initial, log } = rig({ lighting: true });
    assert.throws(
      () => swap.swap({ ...config(), lighting: lightingConfig({ timezone: 'Mars/Olympus' }) }, NOW),
      (e: unknown) => isDownlinkError(e, 'DOWNLINK_INVALID') && /no such zone/.test(e.message),
    );
    assert.equal(swap.current(), initial);
    assert.deepEqual(log, []);
  });

  it('a module refusing its swap undoes the ones already swapped: DOWNLINK_SWAP_FAILED', () => {
    const { swap, initial, log } = rig({ lighting: true, engineThrows: true });
    assert.throws(
      () => swap.swap({ ...fasterGas(), lighting: lightingConfig() }, NOW),
      (e: unknown) => isDownlinkError(e, 'DOWNLINK_SWAP_FAILED') && /duplicate rule/.test(e.message),
    );
    assert.equal(swap.current(), initial);
    assert.deepEqual(log, ['lighting prepared', 'lighting swapped', 'lighting undo']);
  });
});
