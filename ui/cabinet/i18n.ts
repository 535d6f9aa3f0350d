/**
 * The cabinet app's typed `t`: a key that is in neither the kit's nor the cabinet's dictionary
 * does not compile, and test/ui/i18n.test.ts checks both languages have every key.
 */
import { translate } from '../kit/i18n.js';
import type { Params } from '../kit/i18n/core.js';
import type { KitKey } from '../kit/i18n/kit-messages.js';
import type { CABINET_ZH } from './i18n/messages.js';

export type CabinetKey = keyof typeof CABINET_ZH | KitKey;

export function t(key: CabinetKey, params?: Params): string {
  return translate(key, params);
}
