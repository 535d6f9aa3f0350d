/**
 * Keys no input from outside may use (docs/security.md, prototype pollution): `__proto__`,
 * `prototype` and `constructor` name properties every JavaScript object has or inherits. JSON.parse
 * makes `"__proto__"` an own property, so it survives into the code that walks or merges a
 * document; a walk that follows it (`node[segment]`) reaches Object.prototype, and the next write
 * changes every object in the process (ajv's generated validators included) until a restart.
 * Refusing the three names wherever a key or a pointer comes from outside (configuration files,
 * profiles, cloud configuration documents, local overrides) closes that, whatever the walk does.
 * In the contract because both the gateway and the cloud read such input (ARCHITECTURE.md,
 * "Invariants").
 */
import { fromPointer, toPointer } from './config-document.js';
import type { Issue } from './errors.js';

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

/** More issues say nothing more: the input is refused either way. */
const MAX_ISSUES = 50;

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

function forbidden(pointer: string, key: string): Issue {
  return {
    pointer,
    message: `'${key}' is not allowed as a key or a pointer segment (it names a property of every JavaScript object)`,
  };
}

/**
 * An issue for each forbidden key in a parsed JSON value (own keys, as JSON.parse makes them), at
 * `at` + the key's path. Without recursion: a document deep enough to overflow the stack must be
 * refused, not crash the reader.
 */
export function forbiddenKeyIssues(value: unknown, at = ''): Issue[] {
  const issues: Issue[] = [];
  const pending: Array<{ value: unknown; pointer: string }> = [{ value, pointer: at }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const node = next.value;
    if (node === null || typeof node !== 'object') continue;
    const children: Array<{ value: unknown; pointer: string }> = [];
    for (const key of Object.keys(node)) {
      const pointer = `${next.pointer}${toPointer([key])}`;
      if (isForbiddenKey(key)) {
        issues.push(forbidden(pointer, key));
        if (issues.length >= MAX_ISSUES) return issues;
      } else children.push({ value: (node as Record<string, unknown>)[key], pointer });
    }
    // Onto the stack last first, so that they are visited in document order (a loop, not a
    // spread: an object may have more keys than a call takes arguments).
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i] as (typeof children)[number]);
  }
  return issues;
}

/** An issue when a pointer from outside has a forbidden segment, else null. */
export function forbiddenPointerIssue(pointer: string): Issue | null {
  const key = fromPointer(pointer).find(isForbiddenKey);
  return key === undefined ? null : forbidden(pointer, key);
}
