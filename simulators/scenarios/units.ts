/**
 * Unit conversions the scenarios need to express docs/domain.md thresholds in whatever unit a
 * profile reports. An unknown unit fails loudly rather than producing a leak at the wrong size.
 */
import type { ResolvedPoint } from '../../gateway/profiles/types.js';
import { SimulatorError } from '../errors.js';

/** docs/domain.md: ppm = mg/m³ × 24.45 / 34.08 for H2S at 25 °C (molar volume / molar mass). */
export const H2S_PPM_PER_MG_M3 = 24.45 / 34.08;

/** CH4 lower explosive limit: 5 vol% (docs/domain.md), so 1 %LEL = 0.05 vol% = 500 ppm. */
const CH4_VOL_PERCENT_PER_LEL = 0.05;

function unsupported(point: ResolvedPoint, what: string): SimulatorError {
  return new SimulatorError(
    'SIM_POINT_MISSING',
    `point ${point.key} reports ${what} in "${point.unit ?? '(no unit)'}", which the simulator cannot convert`,
  );
}

/** H2S in mg/m³ expressed in the point's unit. */
export function h2sIn(point: ResolvedPoint, mgPerM3: number): number {
  switch (point.unit) {
    case 'mg/m³':
    case 'mg/m3':
      return mgPerM3;
    case 'ppm':
      return mgPerM3 * H2S_PPM_PER_MG_M3;
    default:
      throw unsupported(point, 'H2S');
  }
}

/** CH4 in %LEL expressed in the point's unit. */
export function ch4In(point: ResolvedPoint, percentLel: number): number {
  switch (point.unit) {
    case '%LEL':
      return percentLel;
    case '%vol':
    case '%VOL':
      return percentLel * CH4_VOL_PERCENT_PER_LEL;
    case 'ppm':
      return percentLel * CH4_VOL_PERCENT_PER_LEL * 10000;
    default:
      throw unsupported(point, 'CH4');
  }
}
