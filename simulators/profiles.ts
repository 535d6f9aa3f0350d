/**
 * Finds a device profile for a simulator by the names people type: "gas-detector/anqi-gd300"
 * (family folder and file), "anqi-gd300" (profile id), or a path to a .json file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultProfileDirectory,
  loadProfileDirectory,
  loadProfileFile,
} from '../gateway/profiles/loader.js';
import type { LoadedProfile } from '../gateway/profiles/types.js';
import { SimulatorError } from './errors.js';

export class ProfileCatalogue {
  private directory: Map<string, LoadedProfile> | undefined;

  constructor(readonly dir: string = defaultProfileDirectory()) {}

  /** Every valid profile in the directory, by id. */
  all(): Map<string, LoadedProfile> {
    this.directory ??= loadProfileDirectory(this.dir).profiles;
    return this.directory;
  }

  resolve(ref: string | LoadedProfile): LoadedProfile {
    if (typeof ref !== 'string') return ref;
    if (ref.endsWith('.json') && existsSync(ref)) return loadProfileFile(ref); // a ProfileError lists every issue
    if (ref.includes('/')) {
      const file = join(this.dir, ref.endsWith('.json') ? ref : `${ref}.json`);
      if (existsSync(file)) return loadProfileFile(file);
    }
    const id = ref.split('/').pop() ?? ref;
    const profile = this.all().get(id);
    if (profile) return profile;
    const known = [...this.all().values()].map((p) => `${p.family}/${p.id}`).sort();
    throw new SimulatorError(
      'SIM_PROFILE_NOT_FOUND',
      `no device profile "${ref}" in ${this.dir} (known: ${known.join(', ') || 'none'})`,
    );
  }
}
