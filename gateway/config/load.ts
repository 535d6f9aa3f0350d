/**
 * Reads the gateway configuration file: text -> JSON (with a source map, so every issue gets its
 * line) -> validateGatewayConfig. Throws ConfigError listing every issue.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseJsonSource, type ParseOutcome } from '../profiles/json-source.js';
import type { LoadedProfile } from '../profiles/types.js';
import { ConfigError } from './errors.js';
import type { GatewayConfig } from './types.js';
import { validateGatewayConfig } from './validate.js';

/** The configuration file as written, and the folder relative paths in it are resolved against. */
export interface GatewayConfigSource {
  document: unknown;
  baseDir: string;
}

/** Reads and parses the file once; throws ConfigError when it cannot be read or is not JSON. */
function parseConfigFile(path: string): { parsed: Extract<ParseOutcome, { ok: true }>; baseDir: string } {
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
      { cause: error },
    );
  }
  const parsed = parseJsonSource(text);
  if (!parsed.ok) {
    throw new ConfigError(
      'CONFIG_INVALID',
      [{ pointer: parsed.pointer, line: parsed.line, message: parsed.message }],
      path,
    );
  }
  return { parsed, baseDir: dirname(file) };
}

/**
 * The validated configuration and the document it came from (the base that cloud configuration
 * documents and local overrides are laid over, overlay.ts), from one read of the file.
 */
export function loadGatewayConfigWithSource(
  path: string,
  profiles: ReadonlyMap<string, LoadedProfile>,
): { config: GatewayConfig; source: GatewayConfigSource } {
  const { parsed, baseDir } = parseConfigFile(path);
  // A relative dataDir means "next to this file", so the gateway finds its data however started.
  const result = validateGatewayConfig(parsed.doc.data, profiles, { baseDir });
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
  return { config: result.config, source: { document: parsed.doc.data, baseDir } };
}

export function loadGatewayConfig(path: string, profiles: ReadonlyMap<string, LoadedProfile>): GatewayConfig {
  return loadGatewayConfigWithSource(path, profiles).config;
}

/**
 * The configuration file's document as written (before defaults) with its folder, without
 * validating it (the SIGHUP re-read compares it with the previous one first). Throws ConfigError
 * when the file cannot be read or is not JSON.
 */
export function readGatewayConfigDocument(path: string): GatewayConfigSource {
  const { parsed, baseDir } = parseConfigFile(path);
  return { document: parsed.doc.data, baseDir };
}
