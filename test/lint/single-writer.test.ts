/**
 * Single writer, one commit path (ARCHITECTURE.md, "Single writer to kerbside.db"): in the running
 * code, GatewayStore.commitCycle is reached only through the Committer (gateway/store/committer.ts),
 * which commits and then announces `store:committed`, so no writer can commit and forget to wake
 * the uplink. A test rather than a lint rule because it sees every way of naming the method (a
 * call, `store['commitCycle']`, destructuring, a `Pick<GatewayStore, 'commitCycle'>`), not only a
 * call expression, and ignores comments. Tests of the store itself call commitCycle directly and
 * are not scanned.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The method's definition, and the one module that may call it. */
const ALLOWED = new Set(['gateway/store/event-store.ts', 'gateway/store/committer.ts']);
/** The running code: the gateway and everything that starts one (the demo, the simulators). */
const SCANNED = ['gateway', 'simulators', 'runtime'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    // Forward slashes, as ALLOWED names them.
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each place in `code` that names commitCycle, as identifier or string, with its line. */
function mentions(file: string, code: string): string[] {
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isIdentifier(node) || ts.isStringLiteralLike(node)) && node.text === 'commitCycle') {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      found.push(`${file}:${line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('lint: one commit path to kerbside.db', () => {
  it('only the committer calls GatewayStore.commitCycle in the running code', () => {
    const offenders = SCANNED.flatMap(sourceFiles)
      .filter((file) => !ALLOWED.has(file))
      .flatMap((file) => mentions(file, readFileSync(join(root, file), 'utf8')));
    assert.deepEqual(
      offenders,
      [],
      'commit through the Committer (gateway/store/committer.ts), which also announces store:committed',
    );
  });

  it('sees a call, an element access, destructuring and a Pick, and not a comment', () => {
    const code = [
      '// store.commitCycle() in a comment is fine',
      'store.commitCycle({});',
      "store['commitCycle']({});",
      'const { commitCycle } = store;',
      "type W = Pick<GatewayStore, 'commitCycle'>;",
    ].join('\n');
    assert.deepEqual(
      mentions('x.ts', code).map((at) => at.split(':')[1]),
      ['2', '3', '4', '5'],
    );
  });

  it('the committer is where the calls go', () => {
    const committer = readFileSync(join(root, 'gateway/store/committer.ts'), 'utf8');
    assert.ok(mentions('committer.ts', committer).length > 0, 'the committer calls commitCycle');
  });
});
