/**
 * Writing a file so that a crash or a power cut leaves either the old file or the new one, never a
 * torn mix: the gateway's credential file and the cloud's mosquitto password and ACL files are
 * read by another program (or by the next start) that must not find half a secret.
 *
 * This module imports nothing of ours (eslint.config.js): process plumbing that gateway/ and
 * cloud-sync/ share without depending on one another.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `content` to `path` with `mode`: to a temporary file beside it, fsynced, then renamed over
 * `path` (rename is atomic within one file system, POSIX rename(2)), and the directory is fsynced
 * so the rename itself survives a power cut. On failure the temporary file is removed and `path`
 * is as it was.
 */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
