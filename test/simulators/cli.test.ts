/**
 * The `npm run sim` command line: bad arguments exit with code 2 and a clear message, --list lists,
 * a started simulator prints where to connect, serves, and stops cleanly on SIGINT (exit 0).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModbusClient } from '../../drivers/modbus/client.js';
import { TcpTransport } from '../../drivers/transport/tcp.js';
import { parseUnitList } from '../../simulators/cli.js';
import { parseSimulationFile } from '../../simulators/config.js';
import { SimulatorError } from '../../simulators/errors.js';
import { runTsx, spawnTsx } from '../helpers/process.js';
import { waitFor as waitUntil } from '../helpers/wait.js';
import { GAS } from './helpers.js';
import { tcpClient } from './transport-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kerbside-sim-cli-'));

after(() => rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sim(args: string[]): { child: ChildProcess; done: Promise<Outcome>; stdout: () => string } {
  const child = spawnTsx('sim', 'simulators/cli.ts', args);
  const done = child.exited.then(({ code }) => ({ code, stdout: child.stdout, stderr: child.stderr }));
  return { child: child.proc, done, stdout: () => child.stdout };
}

/** The ```json blocks of docs/simulators.md, in order: the simulator's config, then a gateway's. */
function docsExamples(): string[] {
  const text = readFileSync(join(ROOT, 'docs', 'simulators.md'), 'utf8');
  return [...text.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

function waitFor(read: () => string, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  return waitUntil(String(pattern), () => pattern.exec(read()), {
    timeoutMs,
    intervalMs: 50,
    message: () => `timed out waiting for ${pattern} in:\n${read()}`,
  });
}

describe('sim CLI arguments', { concurrency: true }, () => {
  it('parses unit lists', () => {
    assert.deepEqual(parseUnitList('1'), [1]);
    assert.deepEqual(parseUnitList('1,3-5'), [1, 3, 4, 5]);
    assert.throws(() => parseUnitList('0'));
    assert.throws(() => parseUnitList('5-3'));
  });

  for (const [args, message] of [
    [['--bogus'], /unknown option/],
    [['--profile', 'no-such-device', '--tcp', '0'], /no device profile "no-such-device"/],
    [['--profile', GAS, '--tcp', '0', '--pty'], /exactly one of/],
    [['--profile', GAS, '--tcp', '0', '--scenario', 'gas-lek'], /no scenario "gas-lek"/],
    [['--profile', GAS, '--tcp', '0', '--fault', 'bad-crc'], /bad-crc cannot be injected on Modbus TCP/],
    [['--profile', GAS, '--pty', '--baud', 'fast'], /baud rate must be an integer/],
  ] as const) {
    it(`exits 2 for: ${args.join(' ')}`, async () => {
      const { code, stderr } = await sim([...args]).done;
      assert.equal(code, 2, stderr);
      assert.match(stderr, message);
    });
  }

  it('--list prints profiles, scenarios and fault modes', async () => {
    const { code, stdout } = await sim(['--list']).done;
    assert.equal(code, 0);
    for (const text of [
      'gas-detector/anqi-gd300',
      'gas-leak',
      'vehicle-bump',
      'bridge-traffic',
      'cable-theft',
      'truncated',
    ]) {
      assert.ok(stdout.includes(text), `--list mentions ${text}`);
    }
  });
});

describe('sim CLI runs', () => {
  it('serves Modbus TCP, prints where to connect and stops on SIGINT', async () => {
    const run = sim(['--profile', GAS, '--unit', '3', '--tcp', '0', '--log-format', 'json']);
    const [, port] = await waitFor(run.stdout, /gateway connects to: 127\.0\.0\.1:(\d+)/);
    const client = await tcpClient(Number(port));
    try {
      const registers = await client.readInputRegisters(3, 0, 8, { timeoutMs: 1000 });
      assert.equal(registers.length, 8);
    } finally {
      await client.close();
    }
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
  });

  it('starts the buses and devices of a --config file', async () => {
    const file = join(tmp, 'sim.json');
    writeFileSync(
      file,
      JSON.stringify({
        buses: [{ id: 'line', kind: 'rtu', rtuOverTcpPort: 0, serial: { baudRate: 19200 } }],
        devices: [
          { bus: 'line', unitId: 1, profile: GAS, scenario: 'gas-leak' },
          { bus: 'line', unitId: 2, profile: 'manhole-cover/anjing-mc200', fault: 'no-answer' },
        ],
      }),
    );
    const run = sim(['--config', file, '--log-format', 'json']);
    const [, port] = await waitFor(run.stdout, /gateway connects to: 127\.0\.0\.1:(\d+)/);
    assert.match(run.stdout(), /unit 2: manhole-cover\/anjing-mc200 .*fault no-answer:always/);
    const transport = new TcpTransport({ host: '127.0.0.1', port: Number(port), connectTimeoutMs: 2000 });
    await transport.open();
    const client = new ModbusClient({
      transport,
      framing: 'rtu',
      serial: { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 },
      frameSilenceMs: 20,
    });
    try {
      assert.equal((await client.readInputRegisters(1, 0, 4, { timeoutMs: 1000 })).length, 4);
      await assert.rejects(client.readInputRegisters(2, 0, 4, { timeoutMs: 200 }), /no reply from unit 2/);
    } finally {
      await client.close();
    }
    run.child.kill('SIGTERM');
    assert.equal((await run.done).code, 0);
  });

  it('--help shows the config file format, whose example is the one docs/simulators.md documents', async () => {
    const { code, stdout } = await sim(['--help']).done;
    assert.equal(code, 0);
    assert.match(stdout, /Config file \(--config sim\.json\)/);
    assert.match(stdout, /docs\/simulators\.md/);
    for (const field of ['"kind": "rtu"', 'rtuOverTcpPort', '"kind": "tcp"', 'unitId', 'scenario', 'fault']) {
      assert.ok(stdout.includes(field), `--help names ${field}`);
    }
    const example = /^ {2}\{\n[\s\S]*?^ {2}\}$/m.exec(stdout)?.[0];
    assert.ok(example, `no example in --help:\n${stdout}`);
    const parsed = parseSimulationFile(example, '--help example');
    assert.equal(parsed.devices.length, 3);
    assert.deepEqual(
      JSON.parse(example),
      JSON.parse(docsExamples()[0] ?? ''),
      'help and docs show one example',
    );
  });

  it('runs the config example of docs/simulators.md, and the gateway example there is valid', async () => {
    const [simExample, gatewayExample] = docsExamples();
    assert.ok(simExample !== undefined && gatewayExample !== undefined);
    // Any free port instead of 1502, so tests can run side by side.
    const file = join(tmp, 'docs-example.json');
    writeFileSync(file, simExample.replace(/"port": \d+/g, '"port": 0'));
    const run = sim(['--config', file, '--log-format', 'json']);
    await waitFor(run.stdout, /unit 1: bridge-strain\/qiaoce-vw8 /);
    assert.match(run.stdout(), /unit 1: gas-detector\/anqi-gd300 +scenario gas-leak/);
    assert.match(run.stdout(), /unit 2: manhole-cover\/anjing-mc200 +scenario normal +fault no-answer:0\.1/);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);

    const gatewayFile = join(tmp, 'docs-gateway.json');
    writeFileSync(gatewayFile, gatewayExample);
    const check = await runTsx('gateway/main.ts', ['--config', gatewayFile, '--check']);
    const output = check.stdout + check.stderr;
    assert.equal(check.code, 0, output);
    assert.match(output, /is valid: 2 buses, 3 devices/);
  });

  it('reports every problem of a bad config file with its JSON path', () => {
    const text = JSON.stringify({
      buses: [{ kind: 'rtu', pty: 'yes', serial: { parity: 'mark' } }, { kind: 'udp' }],
      devices: [{ bus: 0, profile: GAS }],
    });
    assert.throws(
      () => parseSimulationFile(text, 'sim.json'),
      (e: unknown) => {
        assert.ok(e instanceof SimulatorError && e.code === 'SIM_CONFIG_INVALID');
        for (const path of [
          '$.buses[0].pty',
          '$.buses[0].serial.parity',
          '$.buses[1].kind',
          '$.devices[0].unitId',
        ]) {
          assert.ok(e.message.includes(path), `mentions ${path}: ${e.message}`);
        }
        return true;
      },
    );
  });
});
