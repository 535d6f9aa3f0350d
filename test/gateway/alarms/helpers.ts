/**
 * Shared fixtures for the alarm engine tests: a clock in seconds, hand-made rules, and a
 * record-diff helper. The engine is pure, so tests drive time explicitly.
 */
import assert from 'node:assert/strict';
import type { AlarmEngine } from '../../../gateway/alarms/engine.js';
import type { AlarmRule, EngineOutput, Instant, OperatorAction } from '../../../gateway/alarms/types.js';
import { loadProfileDirectory } from '../../../gateway/profiles/loader.js';
import type { LoadedProfile } from '../../../gateway/profiles/types.js';

const WALL_EPOCH = Date.UTC(2026, 0, 1);

/** The instant `s` seconds after the test's start (monotonic and wall clock move together). */
export function at(s: number): Instant {
  return { monoMs: Math.round(s * 1000), wallMs: WALL_EPOCH + Math.round(s * 1000) };
}

export const TECH: OperatorAction = { by: 'tech:li', reason: 'checked on site' };

/** A rule with every field at its neutral default; override what the test is about. */
export function rule(
  deviceId: string,
  ruleKey: string,
  fields: Partial<AlarmRule> & Pick<AlarmRule, 'kind'>,
): AlarmRule {
  return {
    alarmKey: `${deviceId}:${ruleKey}`,
    deviceId,
    ruleKey,
    child: null,
    levels: [],
    activeWhen: true,
    deadband: 0,
    onDelayMs: 0,
    offDelayMs: 0,
    rateLimit: null,
    staleAfterMs: null,
    staleWhenUnchanged: false,
    latched: false,
    suppressedByDesign: false,
    enabled: true,
    priority: 'medium',
    message: { 'zh-CN': ruleKey, en: ruleKey },
    source: 'test',
    ...fields,
  };
}

export function commLoss(deviceId: string, staleAfterS = 30): AlarmRule {
  return rule(deviceId, 'comm_loss', { kind: 'comm_loss', staleAfterMs: staleAfterS * 1000 });
}

let cached: Map<string, LoadedProfile> | undefined;

/** The shipped profiles (device-profiles/), loaded once. */
export function shippedProfile(id: string): LoadedProfile {
  if (cached === undefined) {
    const { profiles, issues } = loadProfileDirectory();
    assert.deepEqual(issues, [], 'the shipped profiles load');
    cached = profiles;
  }
  const profile = cached.get(id);
  if (profile === undefined) throw new Error(`no shipped profile '${id}'`);
  return profile;
}

/** "from->to" per transition, for compact assertions. */
export function moves(output: EngineOutput): string[] {
  return output.transitions.map((t) => `${t.alarmKey} ${t.from}->${t.to}`);
}

/** Transitions into 'unacknowledged': what an operator would see appear. */
export function annunciated(output: EngineOutput): string[] {
  return output.transitions.filter((t) => t.to === 'unacknowledged').map((t) => t.alarmKey);
}

export function stateOf(engine: AlarmEngine, alarmKey: string): string | undefined {
  return engine.record(alarmKey)?.state;
}

/** Concatenates outputs (a scenario's whole history). */
export function merge(...outputs: EngineOutput[]): EngineOutput {
  return {
    transitions: outputs.flatMap((o) => o.transitions),
    chattering: outputs.flatMap((o) => o.chattering),
    records: outputs.flatMap((o) => o.records),
  };
}
