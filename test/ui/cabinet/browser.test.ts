/**
 * The cabinet web UI in Chromium against the real gateway polling real simulators (issue 13,
 * "Tests that must exist and pass"; harness.ts). One system and one browser for the file, a new
 * browser context per scenario.
 *
 *  1. A technician's visit: a gas alarm appears without a reload, is acknowledged (on the page and
 *     in kerbside.db's history with the technician as actor); another alarm is shelved with a
 *     duration and a reason; a lamp is switched off after the confirmation and the simulated
 *     concentrator's lamp turns off, "succeeded" shown only once the server answered; the admin's
 *     audit page shows all three with the technician's name and address.
 *  2. The commissioning panel reads a raw register range from the simulator; a profile's
 *     forbidden range is refused with its reason on the page.
 *  3. A threshold changed on the thresholds page is applied (the alarm trips between the old and
 *     the new set point) and reaches the cloud as a config_override event.
 *  4. Sign-in and the server's refusals: a wrong password gives no session; repeated attempts get
 *     429 and the page says so; a technician's admin request is refused by the server; a request
 *     without the CSRF defence is refused; no page asks any other origin for anything.
 *  5. Language: every visible text of every page changes with the switch, which persists.
 *  6. Screenshots of every page in both languages at desktop and phone width (no sideways scroll
 *     on a phone), under test-output/screenshots/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page, Route } from 'playwright-core';
import type { ConfigOverrideEvent } from '../../../cloud-sync/contract/events.js';
import { LOGIN_LOCKOUT } from '../../../gateway/web/accounts/login-limits.js';
import { DESKTOP, PHONE, screenshot } from '../../helpers/browser.js';
import { valueOf, waitUntil } from '../../helpers/gateway-harness.js';
import { CABINET_ZH } from '../../../ui/cabinet/i18n/messages.js';
import { KIT_EN } from '../../../ui/kit/i18n/kit-messages.js';
import { cloudEvent } from '../../helpers/system-harness.js';
import {
  byTestId,
  confirmAndWait,
  COVER,
  GAS,
  LC,
  BRIDGE,
  pageReady,
  SIGNED_IN_PAGES,
  signInThroughPage,
  startCabinetUi,
  unexpectedPageErrors,
  visit,
  visitDevice,
  type CabinetUi,
} from './harness.js';

const H2S = `${GAS}:h2s_high`;
const CH4 = `${GAS}:ch4_high`;
const DOOR = `${LC}:door_open`;
const LAMP = `${LC}:lamp_03`;

/** CJK ideographs and punctuation, kana, full-width forms: what an English page must not show. */
const CJK = /[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]/u;

describe('the cabinet web UI in Chromium, on the real gateway and simulators', () => {
  let ui: CabinetUi;

  before(async () => {
    ui = await startCabinetUi('cabinet-ui');
  });
  after(async () => {
    await ui?.stop();
  });

  it('a technician sees a gas alarm arrive live, acknowledges it, shelves another, switches a lamp off; the audit shows all three', async () => {
    const { site, accounts } = ui;
    const tech = accounts.tech.username;
    const rec = await ui.open();
    const { page } = rec;
    try {
      await signInThroughPage(page, accounts.tech);
      await byTestId(page, 'nav-alarms').click();
      await pageReady(page, 'alarms');
      await byTestId(page, `alarm-${H2S}`).waitFor({ state: 'detached' });
      // A reload would lose this marker: the alarm must arrive over the live stream.
      await page.evaluate('window.notReloaded = true');

      site.device(GAS).hold('h2s', 40);
      await byTestId(page, `alarm-${H2S}`, { 'data-state': 'unacknowledged' }).waitFor();
      assert.equal(
        await page.evaluate('window.notReloaded === true'),
        true,
        'the alarm appeared without a reload',
      );

      await byTestId(page, `ack-${H2S}`).click();
      await byTestId(page, 'ack-dialog').waitFor();
      await confirmAndWait(page);
      await byTestId(page, `alarm-${H2S}`, { 'data-state': 'acknowledged' }).waitFor();
      const acknowledged = await site.transition(
        'the acknowledgement committed',
        (t) => t.alarmKey === H2S && t.to === 'acknowledged',
      );
      assert.equal(acknowledged.by, tech, 'kerbside.db names the technician as the actor');
      assert.equal(acknowledged.cause, 'operation');

      // Another alarm: the concentrator's cabinet door.
      site.device(LC).hold('door_open', true);
      await byTestId(page, `alarm-${DOOR}`, { 'data-state': 'unacknowledged' }).waitFor();
      await byTestId(page, `shelve-${DOOR}`).click();
      await byTestId(page, 'shelve-dialog').waitFor();
      await byTestId(page, 'shelve-minutes').fill('30');
      await byTestId(page, 'op-reason').fill('door lock being replaced');
      await confirmAndWait(page);
      await byTestId(page, `alarm-${DOOR}`, { 'data-state': 'shelved' }).waitFor();
      const shelved = await site.transition(
        'the shelve committed',
        (t) => t.alarmKey === DOOR && t.to === 'shelved',
      );
      assert.equal(shelved.by, tech);
      assert.equal(shelved.reason, 'door lock being replaced');

      // A lamp, switched off after the confirmation.
      await byTestId(page, 'nav-lighting').click();
      await pageReady(page, 'lighting');
      await byTestId(page, `lamp-${LAMP}-state`, { 'data-on': 'true' }).waitFor();
      assert.equal(site.device(LC).get('lamp_03.lamp_switch'), true);
      // The server's answer is held back until the test has looked at the page: until then the
      // dialog must not say "succeeded", and by then the concentrator must hold the write.
      let held: { phase: string | null; lampOn: unknown; status: number } | undefined;
      await page.route(`**/api/lighting/${encodeURIComponent(LAMP)}`, async (route: Route) => {
        const response = await route.fetch();
        held = {
          phase: await byTestId(page, 'confirm-result').getAttribute('data-phase'),
          lampOn: site.device(LC).get('lamp_03.lamp_switch'),
          status: response.status(),
        };
        await route.fulfill({ response });
      });
      await byTestId(page, `lamp-off-${LAMP}`).click();
      await byTestId(page, 'lighting-dialog').waitFor();
      await byTestId(page, 'op-reason').fill('lamp test');
      await confirmAndWait(page);
      assert.deepEqual(
        held,
        { phase: 'pending', lampOn: false, status: 200 },
        'pending while the server had not answered; the concentrator had the write before the answer',
      );
      await page.unrouteAll({ behavior: 'wait' });
      await byTestId(page, `lamp-${LAMP}-state`, { 'data-on': 'false' }).waitFor();
      assert.equal(site.device(LC).get('lamp_03.lamp_switch'), false, 'the simulated lamp is off');
      assert.deepEqual(unexpectedPageErrors(rec), []);
    } finally {
      await rec.context.close();
    }

    // The admin's audit page: the three actions, by the technician, from its address.
    const admin = await ui.open();
    try {
      await signInThroughPage(admin.page, accounts.admin);
      await byTestId(admin.page, 'nav-audit').click();
      await pageReady(admin.page, 'audit');
      const rows = await admin.page.locator('[data-testid="audit-table"] tbody tr').evaluateAll((trs) =>
        trs.map((tr) => ({
          action: tr.getAttribute('data-action'),
          cells: [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim()),
        })),
      );
      const row = (action: string, target: string): string[] | undefined =>
        rows.find((r) => r.action === action && r.cells[3] === target)?.cells;
      for (const [action, target] of [
        ['alarm.acknowledge', H2S],
        ['alarm.shelve', DOOR],
        ['lighting.switch', LAMP],
      ] as const) {
        const cells = row(action, target);
        assert.ok(cells !== undefined, `the audit page shows ${action} ${target}:\n${JSON.stringify(rows)}`);
        assert.equal(cells[1], tech, `${action}: by the technician`);
        assert.equal(cells[4], '127.0.0.1', `${action}: from the technician's address`);
      }
    } finally {
      await admin.context.close();
    }
  });
  it("the commissioning panel returns the simulator's registers; a forbidden range is refused with the reason", async () => {
    const gas = ui.site.device(GAS);
    const rec = await ui.open({ as: 'tech' });
    const { page } = rec;
    try {
      await visit(page, 'bus');
      await byTestId(page, 'read-device').selectOption(GAS);
      await byTestId(page, 'read-mode-raw').check();
      await byTestId(page, 'read-table').selectOption('input');
      await byTestId(page, 'read-address').fill('0');
      await byTestId(page, 'read-count').fill('6');
      await byTestId(page, 'bus-read').click();
      await byTestId(page, 'bus-read-result', { 'data-phase': 'done' }).waitFor();
      const shown = (
        await page.locator('[data-testid="bus-read-raw"] tbody tr td:nth-child(2)').allInnerTexts()
      ).map((text) => text.trim());
      // H2S, CH4 and O2 (two registers each) are held by the test, so the registers stand still.
      const registers = gas.device.bank.readWords('input', 0, 6);
      assert.deepEqual(shown, registers.map(String), "the page shows the simulator's registers");
      assert.ok(
        registers.some((r) => r !== 0),
        'registers that say something',
      );

      // The calibration area of the GD-300 (quirks.forbiddenRanges: holding 256..511).
      await byTestId(page, 'read-table').selectOption('holding');
      await byTestId(page, 'read-address').fill('300');
      await byTestId(page, 'read-count').fill('4');
      await byTestId(page, 'bus-read').click();
      await byTestId(page, 'bus-read-result', { 'data-phase': 'failed' }).waitFor();
      assert.equal(await byTestId(page, 'bus-read-error').getAttribute('data-code'), 'BUS_FORBIDDEN_RANGE');
      assert.match(
        await byTestId(page, 'bus-read-forbidden').innerText(),
        /标定区：读取会中断正在进行的标定/,
        "the profile's reason, in the page's language",
      );
      assert.deepEqual(unexpectedPageErrors(rec), []);
    } finally {
      await rec.context.close();
    }
  });

  it('a threshold changed on the page is applied (the alarm trips at the new set point) and reported upstream', async () => {
    const { site } = ui;
    const tech = ui.accounts.tech.username;
    const pointer = `/alarms/${GAS}/ch4_high/levels`;
    // 20 %LEL: under the profile's level 1 (25), over the new one (15).
    site.device(GAS).hold('ch4', 20);
    await site.committedPoll(GAS, (p) => valueOf(p, 'ch4') === 20);
    assert.notEqual(site.db.alarm(CH4)?.active, true, 'no alarm at 20 %LEL under the old set point');

    const rec = await ui.open({ as: 'tech' });
    const { page } = rec;
    try {
      await visit(page, 'thresholds');
      await byTestId(page, 'rule-form-ch4_high').waitFor();
      assert.equal(await byTestId(page, 'setpoint-ch4_high-1').inputValue(), '25');
      await byTestId(page, 'setpoint-ch4_high-1').fill('15');
      await byTestId(page, 'reason-ch4_high').fill('odour complaints: tighter limits');
      await byTestId(page, 'apply-ch4_high').click();
      await byTestId(page, 'threshold-dialog').waitFor();
      await confirmAndWait(page);
      // Shown as an override, with who made it.
      const override = byTestId(page, `override-${pointer}`);
      await override.waitFor();
      assert.match(await override.innerText(), new RegExp(tech));

      const trip = await site.transition(
        'ch4_high trips at the new set point',
        (t) => t.alarmKey === CH4 && t.active && t.level === 1,
      );
      assert.equal(trip.setpoint, 15);
      await byTestId(page, 'nav-alarms').click();
      await byTestId(page, `alarm-${CH4}`, { 'data-state': 'unacknowledged' }).waitFor();

      const reported = await cloudEvent(
        ui.system.cloud,
        'config_override',
        (e: ConfigOverrideEvent) => e.pointer === pointer && e.action === 'set',
        'the override reported to the cloud',
      );
      assert.equal(reported.by, tech);
      assert.equal(reported.reason, 'odour complaints: tighter limits');
      assert.deepEqual(
        (reported.value as Array<{ setpoint: number }>).map((l) => l.setpoint),
        [15, 50],
      );
      assert.deepEqual(unexpectedPageErrors(rec), []);
    } finally {
      await rec.context.close();
    }
  });

  it('wrong password: no session; repeated attempts throttled; the server refuses admin actions and cross-site posts; no other origin is asked', async () => {
    const { accounts, site } = ui;
    const login = await ui.open();
    const { page } = login;
    try {
      await page.goto('/#/login');
      await byTestId(page, 'page-login').waitFor();
      const attempt = async (password: string): Promise<number> => {
        await byTestId(page, 'login-username').fill(accounts.locked.username);
        await byTestId(page, 'login-password').fill(password);
        const [response] = await Promise.all([
          page.waitForResponse((r) => new URL(r.url()).pathname === '/api/login'),
          byTestId(page, 'login-submit').click(),
        ]);
        await byTestId(page, 'login-error').waitFor();
        return response.status();
      };
      assert.equal(await attempt('not-the-password-1'), 401);
      assert.equal(
        await byTestId(page, 'login-error').innerText(),
        CABINET_ZH['err.WEB_LOGIN_FAILED'],
        'the page says why',
      );
      assert.deepEqual(await login.context.cookies(), [], 'no session cookie');
      await byTestId(page, 'page-login').waitFor();
      const session = await page.evaluate(async () => (await fetch('/api/session')).status);
      assert.equal(session, 401, 'the server knows no session of this browser');

      // Five failures lock the username (login-limits.ts); the next attempt is throttled.
      const statuses: number[] = [];
      for (let i = 0; i < 8 && !statuses.includes(429); i++)
        statuses.push(await attempt(`wrong-${i}-password`));
      assert.deepEqual(statuses, [...Array<number>(LOGIN_LOCKOUT.freeFailures - 1).fill(401), 429]);
      assert.equal(await byTestId(page, 'login-error').innerText(), CABINET_ZH['err.WEB_RATE_LIMITED']);
      // While locked, the right password is throttled too.
      assert.equal(await attempt(accounts.locked.password), 429);
      assert.deepEqual(await login.context.cookies(), [], 'still no session cookie');
      assert.deepEqual(login.foreignRequests(), []);
    } finally {
      await login.context.close();
    }

    const tech = await ui.open({ as: 'tech' });
    try {
      await visit(tech.page, 'overview');
      assert.equal(await byTestId(tech.page, 'nav-users').count(), 0, 'the page hides the admin pages');
      const usersBefore = site.db.all<{ username: string }>(
        'SELECT username FROM web_users ORDER BY username',
      );
      // The server is what refuses: the technician's own page asks for an admin action.
      const refused = await tech.page.evaluate(async () => {
        const response = await fetch('/api/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            username: 'intruder-eve',
            role: 'admin',
            password: 'a-long-enough-password-42',
          }),
        });
        return { status: response.status, body: (await response.json()) as { error: string } };
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error, 'WEB_FORBIDDEN');
      const audit = await tech.page.evaluate(async () => (await fetch('/api/audit')).status);
      assert.equal(audit, 403, 'nor may it read the audit');
      assert.deepEqual(
        site.db.all<{ username: string }>('SELECT username FROM web_users ORDER BY username'),
        usersBefore,
        'no user was made',
      );

      // A cross-site POST with the technician's session cookie (a page on another site).
      const target = `${LC}:lamp_05`;
      await waitUntil(
        'lamp_05 on by the schedule',
        () => site.device(LC).get('lamp_05.lamp_switch') === true,
      );
      const signedIn = await tech.context.request.get('/api/session');
      assert.equal(signedIn.status(), 200, 'the context carries the session cookie');
      const auditCount = (): number =>
        site.db.all<{ n: number }>('SELECT COUNT(*) AS n FROM audit')[0]?.n ?? 0;
      const auditBefore = auditCount();
      const forged = await tech.context.request.post(`/api/lighting/${encodeURIComponent(target)}`, {
        data: { action: 'off', durationS: 600, reason: 'forged' },
        headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      });
      assert.equal(forged.status(), 403);
      assert.equal(((await forged.json()) as { error: string }).error, 'WEB_CROSS_SITE');
      // Nothing changed: the lamp is on, nothing was audited (a write would be, refused or not).
      await site.committedPoll(LC);
      assert.equal(site.device(LC).get('lamp_05.lamp_switch'), true);
      assert.equal(auditCount(), auditBefore);
      assert.deepEqual(tech.foreignRequests(), []);
    } finally {
      await tech.context.close();
    }

    // Every page, as the admin sees them all: nothing is asked of any other origin.
    const admin = await ui.open({ as: 'admin' });
    try {
      for (const id of SIGNED_IN_PAGES) await visit(admin.page, id);
      for (const device of [COVER, LC, BRIDGE]) await visitDevice(admin.page, device);
      assert.ok(admin.requests.length > 20, `the pages made their requests (${admin.requests.length})`);
      assert.deepEqual(admin.foreignRequests(), []);
      assert.deepEqual(unexpectedPageErrors(admin), [], 'no CSP violation or script error');
    } finally {
      await admin.context.close();
    }
  });

  /** Visible text of the page: the rendered text, option labels and the text of tooltips and labels. */
  async function visibleText(page: Page): Promise<string[]> {
    const lines = [
      ...(await page.locator('body').innerText()).split('\n'),
      ...(await page.locator('option').allTextContents()),
      ...(await page
        .locator('[placeholder], [title], [aria-label]')
        .evaluateAll((elements) =>
          elements.flatMap((e) =>
            ['placeholder', 'title', 'aria-label'].map((name) => e.getAttribute(name) ?? ''),
          ),
        )),
    ];
    return lines.map((line) => line.trim()).filter((line) => line !== '');
  }

  /**
   * The lines of an English page that are not English: CJK anywhere, or the ⟦key⟧ of a missing
   * text. One exception: the language switch names the other language in that language (中文).
   */
  async function notEnglish(page: Page): Promise<string[]> {
    const switchText = KIT_EN['layout.langSwitch'];
    return (await visibleText(page)).filter(
      (line) => line !== switchText && (CJK.test(line) || line.includes('⟦')),
    );
  }

  it('the language switch changes every visible text on every page, and persists', async () => {
    const rec = await ui.open({ as: 'admin' });
    const { page } = rec;
    const everyPage = async (check: (where: string) => Promise<void>): Promise<void> => {
      for (const id of SIGNED_IN_PAGES) {
        await visit(page, id);
        await check(id);
      }
      for (const device of [COVER, LC, BRIDGE]) {
        await visitDevice(page, device);
        await check(`device ${device}`);
      }
    };
    const headingsAndNavInChinese = async (where: string): Promise<void> => {
      // A device page's h1 is the device's name, which may be the site's own label as written.
      const headings = where.startsWith('device') ? 'main h2' : 'main h1, main h2';
      const texts = [
        ...(await page.locator(headings).allInnerTexts()),
        ...(await page.locator('#app-nav a').allInnerTexts()),
      ];
      assert.ok(texts.length > 1, `${where}: a heading and the navigation`);
      for (const text of texts) assert.match(text, CJK, `${where}: "${text}" is Chinese`);
    };
    try {
      // zh-CN by default.
      await everyPage(headingsAndNavInChinese);

      await byTestId(page, 'lang-switch').click();
      await page.locator('html[lang="en"]').waitFor({ state: 'attached' });
      await page.reload();
      await pageReady(page, 'device');
      assert.equal(await page.locator('html').getAttribute('lang'), 'en', 'the choice persists');
      assert.equal(await byTestId(page, 'nav-overview').innerText(), 'Overview');

      await everyPage(async (where) => {
        assert.deepEqual(await notEnglish(page), [], `${where}: text not in English`);
      });

      await byTestId(page, 'lang-switch').click();
      await page.locator('html[lang="zh-CN"]').waitFor({ state: 'attached' });
      await everyPage(headingsAndNavInChinese);
      assert.deepEqual(unexpectedPageErrors(rec), []);
    } finally {
      await rec.context.close();
    }

    // The pages before sign-in.
    const anonymous = await ui.open();
    try {
      await anonymous.page.goto('/#/login');
      await pageReady(anonymous.page, 'login');
      assert.match(await anonymous.page.locator('main h1').innerText(), CJK);
      await byTestId(anonymous.page, 'lang-switch').click();
      await anonymous.page.reload();
      await pageReady(anonymous.page, 'login');
      assert.deepEqual(await notEnglish(anonymous.page), [], 'sign-in page');
      await anonymous.page.goto('/#/setup');
      await pageReady(anonymous.page, 'setup');
      assert.deepEqual(await notEnglish(anonymous.page), [], 'setup page');
    } finally {
      await anonymous.context.close();
    }
  });

  it('screenshots of every page in both languages at desktop and phone width; no sideways scroll on a phone', async () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      for (const viewport of [DESKTOP, PHONE]) {
        const rec = await ui.open({ viewport, as: 'admin' });
        const { page } = rec;
        try {
          // The language as the switch keeps it (ui/kit/i18n.ts), set before the app starts.
          await rec.context.addInitScript(`window.localStorage.setItem('kerbside.lang', '${lang}')`);
          const shoot = async (id: string): Promise<void> => {
            await page.evaluate('document.fonts.ready.then(() => true)');
            if (viewport === PHONE) {
              const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
              assert.ok(
                width <= PHONE.width + 1,
                `${id} (${lang}) is ${width} px wide on a ${PHONE.width} px phone`,
              );
            }
            await screenshot(page, `cabinet-${id}-${lang}-${viewport.width}`);
          };
          for (const id of SIGNED_IN_PAGES) {
            await visit(page, id);
            await shoot(id);
          }
          await rec.context.clearCookies();
          await page.goto('/#/login');
          await page.reload();
          await pageReady(page, 'login');
          await shoot('login');
          assert.deepEqual(unexpectedPageErrors(rec), []);
        } finally {
          await rec.context.close();
        }
      }
    }
  });
});
