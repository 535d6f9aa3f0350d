/**
 * Gas detector (H2S, CH4, O2) in a sewer or septic tank. Thresholds from docs/domain.md: H2S level
 * 1/2 at 10/20 mg/m³ (GB/T 50493-2019 at 100% / 200% of the GBZ 2.1 limit), CH4 level 1/2 at 25/50
 * %LEL, O2 alarm below 19.5 %vol.
 */
import type { ResolvedPoint } from '../../gateway/profiles/types.js';
import type { SimulatedDevice } from '../simulated-device.js';
import type { DriftSpec } from './drift.js';
import { trapezoid } from './shapes.js';
import type { DeviceBehaviour, FamilyModel, ScenarioDefinition } from './types.js';
import { ch4In, H2S_PPM_PER_MG_M3, h2sIn } from './units.js';

function nominal(point: ResolvedPoint): DriftSpec | undefined {
  switch (point.id) {
    case 'h2s': // a clean sewer: a fraction of a mg/m³
      return {
        mean: h2sIn(point, 0.3),
        sd: h2sIn(point, 0.15),
        tauS: 600,
        noise: h2sIn(point, 0.03),
        min: 0,
      };
    case 'ch4':
      return { mean: ch4In(point, 1), sd: ch4In(point, 0.4), tauS: 600, noise: ch4In(point, 0.1), min: 0 };
    case 'o2': // fresh air 20.9 %vol
      return { mean: 20.9, sd: 0.08, tauS: 900, noise: 0.03 };
    case 'temperature':
      return { mean: 16, sd: 1.5, tauS: 1800, noise: 0.05 };
    default:
      return undefined;
  }
}

/** Keeps a second H2S reading in ppm consistent with the mg/m³ one, as the detector computes it. */
class GasBehaviour implements DeviceBehaviour {
  readonly derived: ReadonlySet<string>;

  constructor(private readonly device: SimulatedDevice) {
    const both =
      device.hasPoint('h2s') && device.hasPoint('h2s_ppm') && device.point('h2s_ppm').unit === 'ppm';
    this.derived = new Set(both ? ['h2s_ppm'] : []);
  }

  sampleIntervalMs(): undefined {
    return undefined;
  }

  beginStep(): void {}

  update(): void {
    if (!this.derived.has('h2s_ppm')) return;
    const mg = this.device.num('h2s') / h2sIn(this.device.point('h2s'), 1); // back to mg/m³
    this.device.set('h2s_ppm', Math.max(0, mg * H2S_PPM_PER_MG_M3));
  }
}

/**
 * gas-leak timeline (seconds from start): 0-10 baseline; 10-70 H2S and CH4 rise linearly and O2
 * dips; 70-100 plateau (H2S ≈ 28 mg/m³ > level 2, CH4 ≈ 61 %LEL > level 2, O2 ≈ 19.0 %vol <
 * 19.5); 100-160 back down; from 160 baseline. With the default peaks H2S crosses 10 mg/m³ near
 * 31 s, 20 near 52 s, and falls below 20 near 118 s and below 10 near 139 s.
 */
const gasLeak: ScenarioDefinition = {
  name: 'gas-leak',
  description:
    '0-10 s normal; 10-70 s H2S and CH4 ramp up past level 1 then level 2 (H2S 10/20 mg/m³, CH4 25/50 %LEL) while O2 dips below 19.5 %vol; 70-100 s plateau; 100-160 s back down; normal after 160 s.',
  durationMs: 160_000,
  options: {
    h2sPeak: 'H2S added at the plateau, mg/m³ (default 28)',
    ch4Peak: 'CH4 added at the plateau, %LEL (default 60)',
  },
  create(device, _behaviour, options) {
    const h2s = device.point('h2s');
    const ch4 = device.point('ch4');
    const o2 = device.point('o2');
    const h2sPeak = Number(options.h2sPeak ?? 28);
    const ch4Peak = Number(options.ch4Peak ?? 60);
    return {
      update(elapsedMs) {
        const k = trapezoid(elapsedMs / 1000, 10, 60, 30, 60);
        if (k === 0) return;
        device.set(h2s.key, device.num(h2s.key) + h2sIn(h2s, h2sPeak * k));
        device.set(ch4.key, device.num(ch4.key) + ch4In(ch4, ch4Peak * k));
        device.set(o2.key, device.num(o2.key) - 1.9 * k); // displaced by the sewer gas
      },
    };
  },
};

export const gasDetector: FamilyModel = {
  family: 'gas-detector',
  nominal,
  initial: () => undefined,
  createBehaviour: (device) => new GasBehaviour(device),
  scenarios: [gasLeak],
};
