/**
 * Guards for tests that talk to real third-party peers (socat, pymodbus, mbpoll). A missing peer
 * makes the test FAIL with the Debian package to install: a silently skipped interoperability test
 * would look green while proving nothing.
 */
import { spawnSync } from 'node:child_process';

export class MissingPeerError extends Error {
  override readonly name = 'MissingPeerError';
}

/** Throws unless `command` is on PATH (or is an executable path). */
export function requireCommand(command: string, aptPackage: string): void {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
  if (!found) {
    throw new MissingPeerError(
      `test peer missing: command "${command}" not found; install it with: apt-get install ${aptPackage}`,
    );
  }
}

/** Throws unless `python` can import `module`. */
export function requirePythonModule(module: string, aptPackage: string, python = '/usr/bin/python3'): void {
  const result = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : (result.stderr || '').trim().split('\n').pop();
    throw new MissingPeerError(
      `test peer missing: ${python} cannot import ${module} (${why}); install it with: apt-get install ${aptPackage}`,
    );
  }
}
