/**
 * Errors of the cabinet web UI's data routes themselves (the areas they call keep their own:
 * AlarmError, BusError, LightingError, DownlinkError). docs/errors.md lists every code.
 */
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';

export const CABINET_ERRORS = {
  CABINET_NOT_RUNNING: {
    means: 'The gateway is stopped or starting: the cabinet pages have nothing to show.',
    status: 503,
  },
  CABINET_UNKNOWN_DEVICE: { means: 'No device of that id in this cabinet.', status: 404 },
  CABINET_UNKNOWN_POINT: { means: "The device's profile has no point of that key.", status: 404 },
  CABINET_NOT_STRAIN: {
    means: 'The strain page of a device that is not a bridge strain logger.',
    status: 404,
  },
  CABINET_BAD_SPAN: {
    means: 'A trend span that is empty, reversed or longer than the aggregates keep.',
    status: 400,
  },
  CABINET_LIVE_FULL: {
    means: 'The live stream has its maximum of clients; the page retries (EventSource does by itself).',
    status: 503,
  },
} as const satisfies ErrorCatalogue<string>;

export type CabinetErrorCode = keyof typeof CABINET_ERRORS;

export class CabinetError extends errorClass('CabinetError', CABINET_ERRORS) {}
