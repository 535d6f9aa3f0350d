/**
 * runtime/arguments.ts: a real commander program with exitOverride, as the entry points build it;
 * its printed output is captured so the test output stays clean.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { parseArguments } from '../../runtime/arguments.js';

const CODES = { ok: 0, invalid: 2 } as const;

function program(printed: string[]): Command {
  return new Command()
    .name('example')
    .version('1.2.3')
    .option('-c, --config <path>', 'configuration file')
    .option('--check', 'validate, then exit', false)
    .configureOutput({
      writeOut: (text) => printed.push(text),
      writeErr: (text) => printed.push(text),
    })
    .exitOverride();
}

function parse(argv: string[], printed: string[] = []) {
  return parseArguments(() => {
    const p = program(printed);
    p.parse(argv, { from: 'user' });
    return p.opts<{ config?: string; check: boolean }>();
  }, CODES);
}

describe('parseArguments', () => {
  it('returns the options of a valid command line', () => {
    assert.deepEqual(parse(['--config', 'x.json']), { config: 'x.json', check: false });
  });

  it('returns the ok code for --help and --version, after commander printed them', () => {
    const help: string[] = [];
    assert.equal(parse(['--help'], help), CODES.ok);
    assert.match(help.join(''), /Usage: example/);
    const version: string[] = [];
    assert.equal(parse(['--version'], version), CODES.ok);
    assert.match(version.join(''), /1\.2\.3/);
  });

  it('returns the invalid code for a usage error, after commander printed it', () => {
    const printed: string[] = [];
    assert.equal(parse(['--no-such-option'], printed), CODES.invalid);
    assert.match(printed.join(''), /unknown option '--no-such-option'/);
    assert.equal(parse(['--config']), CODES.invalid);
  });

  it('throws any other error (a bug is not a usage error)', () => {
    const bug = new Error('bug');
    assert.throws(
      () =>
        parseArguments(() => {
          throw bug;
        }, CODES),
      (error) => error === bug,
    );
  });
});
