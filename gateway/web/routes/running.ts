/** The routes answer 503 while the gateway is stopped or starting: there is nothing to show. */
import { CabinetError } from '../cabinet-errors.js';
import type { CabinetPort } from '../cabinet-port.js';

export function requireRunning(cabinet: CabinetPort): void {
  if (!cabinet.running())
    throw new CabinetError('CABINET_NOT_RUNNING', 'the gateway is not running: try again in a moment');
}
