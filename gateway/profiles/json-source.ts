/**
 * JSON parsing that remembers where every value came from, so that a schema or lint finding
 * addressed by JSON pointer can be shown with its line number.
 *
 * A key `__proto__`, `prototype` or `constructor` anywhere refuses the text (docs/security.md):
 * json-source-map assigns each key (`obj[key] = value`), so `"__proto__"` would silently become the
 * object's prototype, invisible to the schema, and the others are no setting of ours either.
 */
import { parse } from 'json-source-map';
import type { PointerLocation } from 'json-source-map';
import { forbiddenPointerIssue } from '../../cloud-sync/contract/forbidden-keys.js';

export interface SourceDocument {
  data: unknown;
  /** 1-based line of the value at `pointer`, or of its nearest existing ancestor. */
  lineOf(pointer: string): number | undefined;
}

/** A failure names where: `pointer` is '' for malformed JSON, the key's pointer for a forbidden key. */
export type ParseOutcome =
  { ok: true; doc: SourceDocument } | { ok: false; pointer: string; line: number; message: string };

/** A finding before it is attached to a file: pointer plus message. */
export interface Finding {
  pointer: string;
  message: string;
}

/** Escapes one JSON pointer reference token (RFC 6901 section 3). */
export function escapePointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function parseJsonSource(text: string): ParseOutcome {
  // Editors on Windows may save a byte order mark; JSON itself (RFC 8259 section 8.1) forbids it.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let pointers: Record<string, PointerLocation>;
  let data: unknown;
  try {
    const result = parse(source);
    data = result.data;
    pointers = result.pointers;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(message);
    // "Unexpected end of JSON input" has no position: point at the last non-blank line.
    const offset = position?.[1] === undefined ? source.trimEnd().length : Number(position[1]);
    return { ok: false, pointer: '', line: lineAt(source, offset), message: `malformed JSON: ${message}` };
  }
  // The source map has a pointer for every key of the text, including those the parse swallowed.
  for (const [pointer, loc] of Object.entries(pointers)) {
    const forbidden = forbiddenPointerIssue(pointer);
    if (forbidden !== null)
      return { ok: false, pointer, line: (loc.key ?? loc.value).line + 1, message: forbidden.message };
  }
  const lineOf = (pointer: string): number | undefined => {
    let p = pointer;
    for (;;) {
      const loc = pointers[p];
      if (loc !== undefined) return (loc.key ?? loc.value).line + 1;
      if (p === '') return undefined;
      p = p.slice(0, p.lastIndexOf('/'));
    }
  };
  return { ok: true, doc: { data, lineOf } };
}

/** 1-based line containing character `offset` (an offset at the very end counts as the last line). */
function lineAt(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
