/**
 * `npm start` as a newcomer meets it (issue 9): the demo process itself, started twice on one kept
 * data folder (KERBSIDE_DATA_DIR).
 *  - Every URL the banner prints answers as printed (full URLs, not paths relative to something).
 *  - The accounts are written to the data folder (0600) and work for sign-in.
 *  - A kept demo starts again on its own data: no stack trace, the same accounts and passwords,
 *    the same gateway database (epoch), and its uplink delivers to the same cloud database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { spawnTsx } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const BANNER_END = 'Ctrl-C stops everything.';

interface DemoRun {
  output: () => string;
  /** Resolves once the banner is complete. */
  banner: Promise<string>;
  /** SIGINT, then the exit code. */
  stop: () => Promise<number | null>;
}

function startDemo(dataDir: string): DemoRun {
  const child = spawnTsx('demo', 'simulators/demo.ts', [], {
    env: { KERBSIDE_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
  });
  const end = new RegExp(`^[\\s\\S]*?${BANNER_END.replace(/[.]/g, '\\.')}`);
  const banner = child
    .waitForOutput(end, { timeoutMs: 120_000 })
    .then((match) => match[0])
    .catch((error: unknown) => {
      if (child.alive) throw error;
      throw new Error(`the demo exited (${child.proc.exitCode}) before its banner:\n${child.output}`, {
        cause: error,
      });
    });
  return {
    output: () => child.output,
    banner,
    stop: async () => (await child.signal('SIGINT')).code,
  };
}

/** `http://127.0.0.1:<port>/...` URLs in the banner, each once. */
function urlsOf(banner: string): string[] {
  // Not a quote: the log lines before the banner hold URLs inside JSON strings.
  return [...new Set(banner.match(/http:\/\/127\.0\.0\.1:\d+\/[^\s"]*/g) ?? [])];
}

/** The `    name  password  role` lines under the banner's line that starts with `heading`. */
function accountLines(banner: string, heading: string): Map<string, string> {
  const accounts = new Map<string, string>();
  const lines = banner.split('\n');
  const start = lines.findIndex((line) => line.trimStart().startsWith(heading));
  for (const line of start < 0 ? [] : lines.slice(start + 1)) {
    const match = /^ {4}([a-z]+) +(\S{12,}) {2}/.exec(line);
    if (match === null) break;
    accounts.set(match[1] ?? '', match[2] ?? '');
  }
  return accounts;
}

/** The cloud's operator accounts the banner prints. */
function accountsOf(banner: string): Map<string, string> {
  return accountLines(banner, 'operator accounts');
}

/** The cabinet web UI's address and its technician and admin accounts (new passwords each run). */
function cabinetOf(banner: string): { url: string; accounts: Map<string, string> } {
  const url = /cabinet web UI: +(http:\/\/127\.0\.0\.1:\d+\/)/.exec(banner)?.[1];
  assert.ok(url, `the banner names the cabinet web UI:\n${banner}`);
  return { url, accounts: accountLines(banner, 'cabinet accounts') };
}

/** Signs in to the cabinet web UI as its own page would (same origin, JSON). */
async function cabinetSignIn(url: string, username: string, password: string): Promise<number> {
  const response = await fetch(new URL('/api/login', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: new URL(url).origin },
    body: JSON.stringify({ username, password }),
  });
  return response.status;
}

async function signIn(loginUrl: string, username: string, password: string): Promise<number> {
  const response = await fetch(loginUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return response.status;
}

function cloudFacts(dataDir: string): { events: number; epochs: string[] } {
  const db = new Database(join(dataDir, 'cloud', 'cloud.sqlite'), { readonly: true });
  try {
    const events = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const epochs = (
      db.prepare('SELECT DISTINCT epoch FROM gateway_streams').all() as Array<{ epoch: string }>
    ).map((row) => row.epoch);
    return { events, epochs };
  } finally {
    db.close();
  }
}

describe('npm start: the demo', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kerbside-demo-test-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  let firstAccounts = new Map<string, string>();
  let firstCabinetPasswords: string[] = [];
  let firstEvents = 0;

  it('prints full URLs that answer as printed, and accounts that sign in', async () => {
    const run = startDemo(dataDir);
    try {
      const banner = await run.banner;
      assert.match(banner, /Kerbside demo is running\./);
      const urls = urlsOf(banner);
      const login = urls.find((url) => url.endsWith('/api/v1/auth/login'));
      assert.ok(login, `the banner names the sign-in URL:\n${banner}`);
      for (const path of ['/api/v1/openapi.json', '/metrics', '/healthz']) {
        assert.ok(
          urls.some((url) => url.endsWith(path)),
          `the banner names ${path}`,
        );
      }
      assert.ok(
        urls.filter((url) => url.endsWith('/metrics')).length >= 2,
        'both the cloud and the gateway metrics are printed',
      );
      // The cloud's metrics and API document need the scrape token the banner prints.
      const token = /Authorization: Bearer ([0-9a-f]{32})/.exec(banner)?.[1];
      assert.ok(token, `the banner prints the scrape token:\n${banner}`);
      for (const url of urls.filter((u) => u !== login)) {
        const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.status, 200, `GET ${url}`);
      }

      firstAccounts = accountsOf(banner);
      assert.equal(firstAccounts.size, 6, 'one account per role');
      const cabinet = cabinetOf(banner);
      assert.deepEqual([...cabinet.accounts.keys()], ['technician', 'admin']);
      for (const [username, password] of cabinet.accounts)
        assert.equal(
          await cabinetSignIn(cabinet.url, username, password),
          200,
          `cabinet sign-in ${username}`,
        );
      firstCabinetPasswords = [...cabinet.accounts.values()];
      const monitor = firstAccounts.get('monitor');
      assert.ok(monitor);
      assert.equal(await signIn(login, 'monitor', monitor), 200, `POST ${login}`);

      const file = join(dataDir, 'demo-accounts.json');
      assert.equal(statSync(file).mode & 0o777, 0o600, 'the accounts file is readable by its owner only');
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Array<{ username: string; password: string }>;
      assert.deepEqual(new Map(stored.map((a) => [a.username, a.password])), firstAccounts);
      // The banner comes before the uplink's first batch: wait for delivery, or the second run
      // below would have no epoch to keep (a slow CI machine stopped the demo before it).
      await waitForOutput(run, /uplink connected/);
      await waitUntil(() => cloudFacts(dataDir).events > 0, 'events of the first run in the cloud');
    } finally {
      assert.equal(await run.stop(), 0, run.output());
    }
    firstEvents = cloudFacts(dataDir).events;
    assert.ok(firstEvents > 0, 'the first run delivered events to its cloud');
  });

  it('a kept demo starts again on its own data: the same accounts, gateway and cloud', async () => {
    const epochs = cloudFacts(dataDir).epochs;
    const run = startDemo(dataDir);
    let login: string | undefined;
    try {
      const banner = await run.banner;
      assert.match(banner, /running again on its kept data/);
      assert.doesNotMatch(run.output(), /Error|\n\s+at /, 'no error and no stack trace');
      assert.deepEqual(accountsOf(banner), firstAccounts, 'the accounts and their passwords are reused');
      login = urlsOf(banner).find((url) => url.endsWith('/api/v1/auth/login'));
      assert.ok(login);
      const monitor = firstAccounts.get('monitor') ?? '';
      assert.equal(await signIn(login, 'monitor', monitor), 200, 'the first run’s password still signs in');
      // The cabinet's accounts are kept, with new passwords (printed) each run.
      const cabinet = cabinetOf(banner);
      for (const [username, password] of cabinet.accounts) {
        assert.ok(!firstCabinetPasswords.includes(password), `a new password for ${username}`);
        assert.equal(
          await cabinetSignIn(cabinet.url, username, password),
          200,
          `cabinet sign-in ${username}`,
        );
      }
      // The uplink reaches the new broker port with the stored credential and delivers there.
      await waitForOutput(run, /uplink connected/);
      await waitUntil(
        () => cloudFacts(dataDir).events > firstEvents,
        'events of the second run in the cloud',
      );
    } finally {
      assert.equal(await run.stop(), 0, run.output());
    }
    assert.deepEqual(cloudFacts(dataDir).epochs, epochs, 'the same gateway database: no new epoch');
  });
});

async function waitForOutput(run: DemoRun, pattern: RegExp): Promise<void> {
  await waitUntil(() => pattern.test(run.output()), `${pattern} in the demo's output`);
}

async function waitUntil(predicate: () => boolean, what: string, ms = 30_000): Promise<void> {
  await waitFor(what, predicate, {
    timeoutMs: ms,
    intervalMs: 100,
    message: () => `${what}: not within ${ms} ms`,
  });
}
