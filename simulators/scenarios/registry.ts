/** The family models, by device family (the profile's `family` field picks one; never its model). */
import type { DeviceFamily } from '../../gateway/profiles/types.js';
import { SimulatorError } from '../errors.js';
import { bridgeStrain } from './bridge-strain.js';
import { gasDetector } from './gas-detector.js';
import { lampConcentrator } from './lamp-concentrator.js';
import { manholeCover } from './manhole-cover.js';
import type { FamilyModel } from './types.js';

const MODELS: Readonly<Record<DeviceFamily, FamilyModel>> = {
  'lamp-concentrator': lampConcentrator,
  'manhole-cover': manholeCover,
  'gas-detector': gasDetector,
  'bridge-strain': bridgeStrain,
};

export function familyModel(family: DeviceFamily): FamilyModel {
  const model = MODELS[family];
  if (!model)
    throw new SimulatorError(
      'SIM_CONFIG_INVALID',
      `no simulator model for device family "${String(family)}"`,
    );
  return model;
}

export function allFamilyModels(): FamilyModel[] {
  return Object.values(MODELS);
}
