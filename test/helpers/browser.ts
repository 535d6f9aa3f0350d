/**
 * Debian's Chromium driven by playwright-core, for the web UI tests and the cabinet-ui benchmark
 * (docs/ui.md, "Tests"). test/install-peers.sh installs /usr/bin/chromium and a CJK font; when
 * either is missing this fails with a message saying so, it never skips.
 *
 * Every page opened here records each request the browser makes: `foreignRequests()` lists those
 * to any origin but the server under test (the UIs must work with no internet and fetch nothing
 * from anywhere else). Screenshots go to test-output/screenshots/ (not committed).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/**
 * Flags of a headless Chromium on a machine with no internet: without the background-networking
 * ones it tries Google's hosts at start, and as root it needs --no-sandbox.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--no-first-run',
  '--disable-quic',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests need Debian's chromium and fonts-wqy-microhei ` +
        '(bash test/install-peers.sh installs them)',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface ViewportSize {
  name: 'desktop' | 'phone';
  width: number;
  height: number;
}

export const DESKTOP: ViewportSize = { name: 'desktop', width: 1280, height: 800 };
export const PHONE: ViewportSize = { name: 'phone', width: 360, height: 740 };

export interface RecordedPage {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested, in order. */
  requests: string[];
  /** Requests to any origin other than `origin` (data: and blob: URLs are local). */
  foreignRequests(): string[];
  /** Console errors and uncaught page errors (a broken page shows up here first). */
  pageErrors: string[];
}

/**
 * A fresh context (no cookies, no storage) on `origin`, accepting the cabinet's self-signed
 * certificate (a technician checks its fingerprint by eye; the test cannot), recording requests.
 */
export async function openPage(
  browser: Browser,
  origin: string,
  viewport: ViewportSize = DESKTOP,
): Promise<RecordedPage> {
  const context = await browser.newContext({
    baseURL: origin,
    ignoreHTTPSErrors: true,
    viewport: { width: viewport.width, height: viewport.height },
    deviceScaleFactor: 1,
    locale: 'zh-CN',
  });
  const page = await context.newPage();
  const requests: string[] = [];
  const pageErrors: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  const own = new URL(origin).origin;
  return {
    context,
    page,
    requests,
    pageErrors,
    foreignRequests: () =>
      requests.filter((url) => {
        if (url.startsWith('data:') || url.startsWith('blob:')) return false;
        return new URL(url).origin !== own;
      }),
  };
}

/** Saves a full-page screenshot as test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
