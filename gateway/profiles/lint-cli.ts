/**
 * Lints every template and profile under a folder (default: device-profiles/) and prints one
 * `file:line pointer: message` line per issue. Exit code 1 when there is any issue.
 *
 *   npx tsx gateway/profiles/lint-cli.ts [dir]
 */
import { resolve } from 'node:path';
import { formatIssue } from '../../cloud-sync/contract/errors.js';
import { loadProfileDirectory } from './loader.js';

const arg = process.argv[2];
const { profiles, issues } = arg === undefined ? loadProfileDirectory() : loadProfileDirectory(resolve(arg));
for (const issue of issues) console.error(formatIssue(issue));
console.log(`${profiles.size} profile(s) valid, ${issues.length} issue(s)`);
process.exitCode = issues.length > 0 ? 1 : 0;
