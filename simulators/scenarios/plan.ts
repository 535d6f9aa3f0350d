/**
 * Which scenarios run when. A plan is a sequence of steps; each step runs one or more named
 * scenarios together (on top of the always-present baseline) for a while; the last step runs on,
 * or the plan starts again with `loop`.
 *
 * Text form, used by the CLI and configs:
 *   plan  := step ("," step)* [",loop"]
 *   step  := item ("+" item)* ["@" seconds]
 *   item  := name (":" key "=" value)*
 * e.g. "gas-leak", "normal@30,gas-leak,loop", "lamp-failure:lamp=lamp_05+loop-trip:loop=2@120,normal".
 * A step without "@" lasts as long as its longest scenario's timeline.
 */
import { SimulatorError } from '../errors.js';
import type { ScenarioOptions } from './types.js';

export interface ScenarioItem {
  name: string;
  options?: ScenarioOptions;
}

export interface ScenarioStep {
  scenarios: ScenarioItem[];
  /** Length of the step; default: the longest timeline of its scenarios (required if that is endless and a step follows). */
  forMs?: number;
}

export interface ScenarioPlan {
  steps: ScenarioStep[];
  /** Start again after the last step (every step must then have a length). */
  loop?: boolean;
}

function bad(message: string): SimulatorError {
  return new SimulatorError('SIM_CONFIG_INVALID', message);
}

function parseItem(text: string, whole: string): ScenarioItem {
  const [name = '', ...pairs] = text.split(':');
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw bad(`"${name}" in scenario "${whole}" is not a scenario name`);
  if (pairs.length === 0) return { name };
  const options: Record<string, string | number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw bad(`scenario option "${pair}" in "${whole}" is not key=value`);
    const value = pair.slice(eq + 1);
    options[pair.slice(0, eq)] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return { name, options };
}

export function parsePlan(text: string): ScenarioPlan {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const loop = parts[parts.length - 1] === 'loop';
  if (loop) parts.pop();
  if (parts.length === 0) throw bad(`scenario "${text}" names no scenario`);
  const steps = parts.map((part): ScenarioStep => {
    const at = part.lastIndexOf('@');
    const body = at >= 0 ? part.slice(0, at) : part;
    const step: ScenarioStep = { scenarios: body.split('+').map((item) => parseItem(item.trim(), text)) };
    if (at >= 0) {
      const seconds = Number(part.slice(at + 1));
      if (!(seconds > 0))
        throw bad(
          `step length "${part.slice(at + 1)}" in scenario "${text}" is not a positive number of seconds`,
        );
      step.forMs = seconds * 1000;
    }
    return step;
  });
  return loop ? { steps, loop } : { steps };
}

export function formatPlan(plan: ScenarioPlan): string {
  const steps = plan.steps.map((step) => {
    const items = step.scenarios.map((s) =>
      [s.name, ...Object.entries(s.options ?? {}).map(([k, v]) => `${k}=${String(v)}`)].join(':'),
    );
    return items.join('+') + (step.forMs === undefined ? '' : `@${step.forMs / 1000}`);
  });
  return [...steps, ...(plan.loop ? ['loop'] : [])].join(',');
}
