/**
 * The harness of the cabinet web UI's browser tests (issue 13, "Tests that must exist and pass";
 * docs/ui.md, "Tests"): the whole system, every part real. The cloud service with its broker, a
 * gateway enrolled with it polling real simulators (test/helpers/system-harness.ts: a gas detector
 * and a manhole-cover monitor on an RS-485 line, a lamp concentrator and a bridge strain logger on
 * Modbus TCP, with lighting and strain configured like the route tests' cabinet), the cabinet web
 * UI started over it the way the gateway's main does (startCabinetWeb: HTTPS with the self-signed
 * certificate it makes in the data folder, on 127.0.0.1, any free port), and one Debian Chromium
 * driven by playwright-core (test/helpers/browser.ts).
 *
 * Accounts are made as an installer or the CLI would (createWebUser) with random passwords
 * (generatePassword), before the web UI starts, so no setup link is offered. The password hash cost
 * is lowered in this test process only (usePasswordScryptForTests; the web server's own tests use
 * the real cost).
 *
 * Waiting is on the page (playwright's auto-waiting locators, waitForFunction) or on what the
 * gateway committed (ScenarioHarness.transition, waitUntil), never on a fixed sleep.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { generatePassword, usePasswordScryptForTests } from '../../../gateway/web/accounts/passwords.js';
import { createWebUser } from '../../../gateway/web/accounts/users.js';
import type { WebRole } from '../../../gateway/web/api-types.js';
import { startCabinetWeb } from '../../../gateway/web/cabinet-web.js';
import type { WebServer } from '../../../gateway/web/server.js';
import {
  DESKTOP,
  launchChromium,
  openPage,
  type RecordedPage,
  type ViewportSize,
} from '../../helpers/browser.js';
import {
  allDayLightingConfig,
  rtuLine,
  tcpEndpoint,
  type ScenarioHarness,
} from '../../helpers/gateway-harness.js';
import { startSystem, type SystemHarness } from '../../helpers/system-harness.js';
import { waitFor } from '../../helpers/wait.js';

// A cheap hash: this file signs in a dozen times; test/gateway/web/accounts checks the real cost.
usePasswordScryptForTests({ n: 16, r: 8, p: 1 });

export const GAS = 'gas-1';
export const COVER = 'cover-1';
export const LC = 'lc';
export const BRIDGE = 'bridge';

/** The pages of the cabinet UI, by the id of their root (`page-<id>`) and their hash route. */
export const PAGES = {
  overview: '#/overview',
  device: `#/devices/${GAS}`,
  alarms: '#/alarms',
  lighting: '#/lighting',
  bus: '#/bus',
  strain: '#/strain',
  thresholds: `#/thresholds?device=${GAS}`,
  audit: '#/audit',
  users: '#/users',
} as const;
export type SignedInPage = keyof typeof PAGES;
export const SIGNED_IN_PAGES = Object.keys(PAGES) as SignedInPage[];

export interface WebAccount {
  username: string;
  password: string;
  role: WebRole;
}

/** tech: the visit; admin: audit and users; locked: the one whose sign-in is throttled. */
export type AccountName = 'tech' | 'admin' | 'locked';

export interface CabinetUi {
  system: SystemHarness;
  /** The gateway side: simulators, the in-process gateway, its committed kerbside.db. */
  site: ScenarioHarness;
  web: WebServer;
  /** https://127.0.0.1:<port> */
  origin: string;
  browser: Browser;
  accounts: Record<AccountName, WebAccount>;
  /**
   * A new browser context (no cookies, no storage) on the cabinet. With `as`, it carries that
   * user's session (signed in once per user over the API, the cookie copied into each context),
   * so the scenarios that are not about signing in do not spend the per-address sign-in budget.
   */
  open(options?: { viewport?: ViewportSize; as?: 'tech' | 'admin' }): Promise<RecordedPage>;
  stop(): Promise<void>;
}

/** The gateway's part of the system: its devices, lighting, strain and the web UI's settings. */
function systemOptions(name: string): Parameters<typeof startSystem>[0] {
  return {
    name,
    buses: [rtuLine('line1'), tcpEndpoint('lan')],
    devices: [
      {
        id: GAS,
        bus: 'line1',
        unitId: 1,
        profile: 'anqi-gd300',
        gateway: {
          pollIntervalMs: 100,
          timeoutMs: 300,
          name: 'Harbour Rd sewer vault',
          // No delays, so the tests drive the alarms directly (the delays have their own tests).
          alarms: {
            h2s_high: { onDelayS: 0, offDelayS: 0 },
            ch4_high: { onDelayS: 0, offDelayS: 0 },
          },
        },
      },
      {
        id: COVER,
        bus: 'line1',
        unitId: 2,
        profile: 'anjing-mc200',
        gateway: { pollIntervalMs: 250, timeoutMs: 500 },
      },
      {
        id: LC,
        bus: 'lan',
        unitId: 1,
        profile: 'kerbtek-lc3200',
        gateway: { pollIntervalMs: 200, timeoutMs: 500 },
      },
      {
        id: BRIDGE,
        bus: 'lan',
        unitId: 2,
        profile: 'qiaoce-vw8',
        scenario: 'bridge-traffic:firstOverweightS=3',
        seed: 7,
        gateway: { pollIntervalMs: 200, timeoutMs: 500 },
      },
    ],
    config: {
      ...allDayLightingConfig(LC),
      strain: [
        {
          device: BRIDGE,
          material: 'concrete',
          referenceTemperatureC: 15,
          loadFactorTonnesPerMicrostrain: 0.348,
          overweightTonnes: [85, 95],
          windowBeforeS: 2,
          windowAfterS: 1,
        },
      ],
      // The web UI as a cabinet serves it (HTTPS, self-signed), on loopback and any free port.
      web: { host: '127.0.0.1', port: 0 },
    },
    beforeStart: (_dataDir, simulation) => {
      // A quiet cabinet until a test says otherwise.
      const gas = simulation.device(GAS);
      gas.hold('h2s', 0.5);
      gas.hold('ch4', 0);
      gas.hold('o2', 20.9);
      gas.hold('temperature', 18.5);
      const cover = simulation.device(COVER);
      cover.hold('tilt_angle', 0);
      cover.hold('cover_open', false);
      cover.hold('water_level', -80);
      cover.hold('battery_level', 87);
      simulation.device(LC).hold('door_open', false);
    },
  };
}

export async function startCabinetUi(name: string): Promise<CabinetUi> {
  const system = await startSystem(systemOptions(name));
  let web: WebServer | null = null;
  let browser: Browser | undefined;
  const stop = async (): Promise<void> => {
    try {
      await browser?.close();
      await web?.close();
    } finally {
      await system.stop();
    }
  };
  try {
    const site = system.site;
    const store = site.gateway.webStore();
    const installer = { username: 'installer' };
    const accounts: Record<AccountName, WebAccount> = {
      tech: { username: 'tech-anna', password: generatePassword(), role: 'technician' },
      admin: { username: 'admin-ben', password: generatePassword(), role: 'admin' },
      locked: { username: 'tech-carl', password: generatePassword(), role: 'technician' },
    };
    for (const account of Object.values(accounts)) await createWebUser(store, account, installer);

    web = await startCabinetWeb(site.gateway, site.config, pino({ level: 'silent' }));
    assert.ok(web !== null, 'the cabinet web UI started');
    assert.ok(web.fingerprint !== null, 'the web UI serves HTTPS');
    assert.equal(web.setupUrl, null, 'an admin exists, so no setup link');
    const origin = new URL(web.url).origin;
    assert.match(origin, /^https:\/\/127\.0\.0\.1:\d+$/);
    browser = await launchChromium();
    const started = browser;

    const cookies = new Map<'tech' | 'admin', Awaited<ReturnType<RecordedPage['context']['cookies']>>>();
    const open: CabinetUi['open'] = async (options = {}) => {
      const rec = await openPage(started, origin, options.viewport ?? DESKTOP);
      // Fail within seconds, not playwright's 30 s, when the page never shows what a test waits for.
      rec.context.setDefaultTimeout(15_000);
      if (options.as !== undefined) {
        let session = cookies.get(options.as);
        if (session === undefined) {
          const account = accounts[options.as];
          // A sign-in as the page makes it (its Origin is the cabinet's own, access.ts).
          const response = await rec.context.request.post('/api/login', {
            data: { username: account.username, password: account.password },
            headers: { origin },
          });
          assert.equal(response.status(), 200, `sign-in of ${account.username}: ${await response.text()}`);
          session = await rec.context.cookies();
          assert.ok(session.length > 0, 'the sign-in set a session cookie');
          cookies.set(options.as, session);
        } else {
          await rec.context.addCookies(session);
        }
      }
      return rec;
    };
    return { system, site, web, origin, browser: started, accounts, open, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// --- on the page ----------------------------------------------------------------------------------

/** A locator of `[data-testid=...]` with more attributes: testid('alarm-x', {'data-state': 'shelved'}). */
export function byTestId(page: Page, testid: string, attributes: Record<string, string> = {}) {
  const more = Object.entries(attributes)
    .map(([name, value]) => `[${name}=${JSON.stringify(value)}]`)
    .join('');
  return page.locator(`[data-testid=${JSON.stringify(testid)}]${more}`);
}

/**
 * Waits until page `id` is shown with its data: its root is there, nothing says "loading" any
 * more, and no refusal or error notice is shown (a page that failed to load is not ready).
 */
export async function pageReady(page: Page, id: string): Promise<void> {
  await byTestId(page, `page-${id}`).waitFor();
  // Polled from here: the cabinet's CSP (no 'unsafe-eval') refuses playwright's waitForFunction.
  const loading = page.locator('[data-testid="loading"]');
  await waitFor(`page ${id} loaded`, async () => (await loading.count()) === 0, {
    timeoutMs: 15_000,
    intervalMs: 25,
  });
  const errors = await page.locator('[data-testid="error"]').allInnerTexts();
  assert.deepEqual(errors, [], `page ${id} shows an error`);
  if (id === 'device') {
    // The trend draws once its data is there: a plot, or the notice that there is none yet.
    await page
      .locator('[data-testid="trend-chart-plot"] canvas, [data-testid="trend-chart-empty"]')
      .first()
      .waitFor();
  }
}

/** Goes to a signed-in page by its hash route and waits until it is ready. */
export async function visit(page: Page, id: SignedInPage): Promise<void> {
  await page.goto(`/${PAGES[id]}`);
  await pageReady(page, id);
}

/** Goes to the device page of `deviceId` and waits until it is ready (values, rules, trend). */
export async function visitDevice(page: Page, deviceId: string): Promise<void> {
  await page.goto(`/#/devices/${encodeURIComponent(deviceId)}`);
  await pageReady(page, 'device');
  // The rules and the register map render after the first trend (it is asked for first): both
  // must come, whatever the trend did.
  await byTestId(page, 'device-rules').waitFor();
  await byTestId(page, 'device-register-map').waitFor();
}

/** Signs in through the sign-in page as a person does, and waits for the overview. */
export async function signInThroughPage(page: Page, account: WebAccount): Promise<void> {
  await page.goto('/#/login');
  await byTestId(page, 'page-login').waitFor();
  await byTestId(page, 'login-username').fill(account.username);
  await byTestId(page, 'login-password').fill(account.password);
  await byTestId(page, 'login-submit').click();
  await pageReady(page, 'overview');
}

/**
 * Clicks `confirm-ok` in the open confirmation dialog and waits for its answer: succeeded (then
 * closes it) or failed (then fails with the reason the page shows).
 */
export async function confirmAndWait(page: Page): Promise<void> {
  await byTestId(page, 'confirm-ok').click();
  const result = page.locator(
    '[data-testid="confirm-result"][data-phase="succeeded"], [data-testid="confirm-result"][data-phase="failed"]',
  );
  await result.waitFor();
  const phase = await result.getAttribute('data-phase');
  assert.equal(phase, 'succeeded', `the dialog says: ${await result.innerText()}`);
  await byTestId(page, 'confirm-close').click();
}

/** Console errors that are not the browser's "Failed to load resource" of a refused request. */
export function unexpectedPageErrors(rec: RecordedPage): string[] {
  return rec.pageErrors.filter((e) => !e.startsWith('Failed to load resource'));
}
