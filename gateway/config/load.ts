/**
 * Reads the gateway configuration file: text -> JSON (with a source map, so every issue gets its
 * line) -> validateGatewayConfig. Throws ConfigError listing every issue.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseJsonSource } from '../profiles/json-source.js';
import type { LoadedProfile } from '../profiles/types.js';
import { ConfigError } from './errors.js';
import type { GatewayConfig } from './types.js';
import { validateGatewayConfig } from './validate.js';

export function loadGatewayConfig(path: string, profiles: ReadonlyMap<string, LoadedProfile>): GatewayConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      'CONFIG_UNREADABLE',
      [{ pointer: '', message: `cannot read the file: ${reason}` }],
      path,
      {
        cause: error,
      },
    );
  }
  const parsed = parseJsonSource(text);
  if (!parsed.ok) {
    throw new ConfigError(
      'CONFIG_INVALID',
      [{ pointer: '', line: parsed.line, message: parsed.message }],
      path,
    );
  }
  // A relative dataDir means "next to this file", so the gateway finds its data however started.
  const result = validateGatewayConfig(parsed.doc.data, profiles, { baseDir: dirname(file) });
  if (!result.ok) {
    const issues = result.issues
      .map((issue) => {
        const line = parsed.doc.lineOf(issue.pointer);
        return line === undefined ? issue : { ...issue, line };
      })
      // File order reads best next to the file; sort is stable, so same-line issues keep theirs.
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError('CONFIG_INVALID', issues, path);
  }
  return result.config;
}

/**
 * The configuration file's document as written (before defaults) with its folder: the base a
 * cloud configuration document and local overrides are laid over (overlay.ts). Throws
 * ConfigError when the file cannot be read or is not JSON; validation is loadGatewayConfig's job.
 */
export function readGatewayConfigDocument(path: string): { document: unknown; baseDir: string } {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      'CONFIG_UNREADABLE',
      [{ pointer: '', message: `cannot read the file: ${reason}` }],
      path,
      {
        cause: error,
      },
    );
  }
  const parsed = parseJsonSource(text);
  if (!parsed.ok)
    throw new ConfigError(
      'CONFIG_INVALID',
      [{ pointer: '', line: parsed.line, message: parsed.message }],
      path,
    );
  return { document: parsed.doc.data, baseDir: dirname(file) };
}
