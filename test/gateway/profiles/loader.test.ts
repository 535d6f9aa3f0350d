import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ProfileError,
  defaultProfileDirectory,
  lintProfile,
  lintTemplate,
  loadProfileDirectory,
  loadProfileFile,
  loadProfileText,
  loadTemplateText,
} from '../../../gateway/profiles/loader.js';
import type {
  DataType,
  DeviceFamily,
  ProfileDocument,
  TemplateDocument,
  WordOrder,
} from '../../../gateway/profiles/types.js';
import type { Issue } from '../../../cloud-sync/contract/errors.js';

const FAMILIES: DeviceFamily[] = ['lamp-concentrator', 'manhole-cover', 'gas-detector', 'bridge-strain'];
const PROFILE_DIR = defaultProfileDirectory();

/** Every profile file on disk, found by walking the folder rather than through the loader. */
function profileFilesOnDisk(): string[] {
  return readdirSync(PROFILE_DIR)
    .filter(
      (name) => !['schema', 'templates'].includes(name) && statSync(join(PROFILE_DIR, name)).isDirectory(),
    )
    .flatMap((folder) =>
      readdirSync(join(PROFILE_DIR, folder))
        .filter((name) => name.endsWith('.json'))
        .map((name) => join(PROFILE_DIR, folder, name)),
    );
}

function templateFilesOnDisk(): string[] {
  const dir = join(PROFILE_DIR, 'templates');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => join(dir, name));
}

describe('device-profiles/ (every shipped file)', () => {
  const files = profileFilesOnDisk();

  it('lints every profile and template file with zero issues', () => {
    assert.ok(files.length >= FAMILIES.length);
    for (const file of templateFilesOnDisk()) {
      assert.deepEqual(lintTemplate(readFileSync(file, 'utf8'), file), [], file);
    }
    for (const file of files) {
      assert.deepEqual(lintProfile(readFileSync(file, 'utf8'), file), [], file);
    }
    const { profiles, issues } = loadProfileDirectory();
    assert.deepEqual(issues, []);
    assert.equal(profiles.size, files.length);
  });

  it('has a profile for every family, each carrying a relative $schema', () => {
    const { profiles } = loadProfileDirectory();
    const families = new Set([...profiles.values()].map((p) => p.family));
    assert.deepEqual([...families].sort(), [...FAMILIES].sort());
    for (const file of files) {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as ProfileDocument;
      assert.equal(doc.$schema, '../schema/profile.schema.json', file);
    }
    for (const file of templateFilesOnDisk()) {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as TemplateDocument;
      assert.equal(doc.$schema, '../schema/template.schema.json', file);
    }
  });

  it('together cover every data type, word order, table, bit points, scaling and quirk', () => {
    const { profiles } = loadProfileDirectory();
    const points = [...profiles.values()].flatMap((p) => p.points);
    const types = new Set(points.map((p) => p.type));
    for (const t of ['bool', 'u16', 'i16', 'u32', 'i32', 'f32'] satisfies DataType[])
      assert.ok(types.has(t), t);
    const orders = new Set(points.filter((p) => p.count === 2).map((p) => p.wordOrder));
    for (const o of ['ABCD', 'CDAB', 'BADC', 'DCBA'] satisfies WordOrder[]) assert.ok(orders.has(o), o);
    assert.ok(points.some((p) => p.bit !== null && (p.table === 'holding' || p.table === 'input')));
    assert.ok(points.some((p) => p.table === 'coil' && p.writable));
    assert.ok(points.some((p) => p.table === 'discrete'));
    assert.ok(points.some((p) => p.scale !== 1));
    assert.ok(points.some((p) => p.offset !== 0));
    assert.ok(points.some((p) => p.writable && p.table === 'holding' && p.min !== null && p.max !== null));

    const docs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ProfileDocument);
    const quirkKeys = new Set(docs.flatMap((d) => Object.keys(d.quirks ?? {})));
    for (const q of ['wordOrder', 'maxRegistersPerRead', 'noFc16', 'interFrameDelayMs', 'forbiddenRanges']) {
      assert.ok(quirkKeys.has(q), q);
    }
    assert.ok(docs.some((d) => (d.blocks ?? []).length > 0));
  });

  it('gives every default alarm rule a source from docs/domain.md', () => {
    const { profiles } = loadProfileDirectory();
    const rules = [...profiles.values()].flatMap((p) => p.alarms);
    assert.ok(rules.length > 0);
    for (const rule of rules) assert.match(rule.source, /docs\/domain\.md/, rule.key);
  });

  it('expands the concentrator: 16 single-lamp controllers with their points and rules', () => {
    const { profiles } = loadProfileDirectory();
    const lc = profiles.get('kerbtek-lc3200');
    assert.ok(lc);
    assert.equal(lc.children.length, 16);
    assert.deepEqual(lc.children[2], {
      id: 'lamp_03',
      blockId: 'lamp',
      index: 3,
      template: 'single-lamp-controller',
      name: { 'zh-CN': '单灯控制器 03', en: 'Single-lamp controller 03' },
    });
    const dim = lc.points.find((p) => p.key === 'lamp_03.dim_level');
    assert.equal(dim?.address, 1000 + 2 * 8 + 1);
    const energy = lc.points.find((p) => p.key === 'energy');
    assert.equal(energy?.wordOrder, 'CDAB');
    const offline = lc.alarms.find((r) => r.key === 'lamp_16.controller_offline');
    assert.equal(offline?.pointKey, 'lamp_16.comm_status');
    assert.equal(offline?.child, 'lamp_16');
  });
});

// ---------------------------------------------------------------------------------------------
// A small valid document, broken one rule at a time. Checked in memory through lintProfile with a
// virtual path (the path's folder and name agree with family and id, as on disk).

const FILE = '/virtual/gas-detector/acme-x1.json';
const n = (en: string) => ({ 'zh-CN': en, en });

function baseTemplate(): TemplateDocument {
  return {
    id: 'test-node',
    name: n('Test node'),
    points: [
      { id: 'on', name: n('On'), table: 'holding', address: 0, type: 'bool', writable: true },
      { id: 'value', name: n('Value'), table: 'input', address: 0, type: 'u16', unit: 'V' },
      { id: 'fault', name: n('Fault'), table: 'input', address: 1, type: 'bool', bit: 0 },
      { id: 'hours', name: n('Hours'), table: 'input', address: 2, type: 'u32', unit: 'h' },
    ],
    alarms: [{ id: 'fault', kind: 'boolean', point: 'fault', source: 'test' }],
  };
}

function baseDoc(): ProfileDocument {
  return {
    $schema: '../schema/profile.schema.json',
    id: 'acme-x1',
    family: 'gas-detector',
    vendor: 'Acme',
    model: 'X1',
    name: n('Acme X1'),
    protocol: 'modbus',
    poll: { intervalMs: 1000 },
    points: [
      { id: 'level', name: n('Level'), table: 'input', address: 0, type: 'u16', unit: '%' },
      { id: 'flag_a', name: n('Flag A'), table: 'input', address: 1, type: 'bool', bit: 0 },
      { id: 'flag_b', name: n('Flag B'), table: 'input', address: 1, type: 'bool', bit: 1 },
      { id: 'total', name: n('Total'), table: 'input', address: 2, type: 'u32', unit: 'h' },
      {
        id: 'setpoint',
        name: n('Setpoint'),
        table: 'holding',
        address: 0,
        type: 'u16',
        unit: '%',
        writable: true,
        min: 0,
        max: 100,
      },
      { id: 'relay', name: n('Relay'), table: 'coil', address: 0, type: 'bool', writable: true },
      { id: 'door', name: n('Door'), table: 'discrete', address: 0, type: 'bool' },
    ],
    blocks: [{ id: 'node', template: 'test-node', count: 4, base: { holding: 100, input: 200 }, stride: 4 }],
    alarms: [
      {
        id: 'level_high',
        kind: 'high',
        point: 'level',
        levels: [
          { level: 1, setpoint: 50 },
          { level: 2, setpoint: 80 },
        ],
        source: 'test',
      },
      {
        id: 'level_low',
        kind: 'low',
        point: 'level',
        levels: [
          { level: 1, setpoint: 20 },
          { level: 2, setpoint: 10 },
        ],
        source: 'test',
      },
      { id: 'door_open', kind: 'boolean', point: 'door', source: 'test' },
      { id: 'comm_loss', kind: 'comm_loss', staleAfterS: 30, source: 'test' },
    ],
  };
}

const TEMPLATES = new Map([['test-node', baseTemplate()]]);

/** Points and blocks as loose records so tests can break them in ways the types forbid. */
type Loose = Record<string, unknown>;
const point = (doc: ProfileDocument, i: number): Loose => doc.points[i] as unknown as Loose;
const block = (doc: ProfileDocument, i: number): Loose => doc.blocks?.[i] as unknown as Loose;
const rule = (doc: ProfileDocument, i: number): Loose => doc.alarms?.[i] as unknown as Loose;

function lintDoc(doc: unknown, file = FILE): { text: string; issues: Issue[] } {
  const text = JSON.stringify(doc, null, 2);
  return { text, issues: lintProfile(text, file, { templates: TEMPLATES }) };
}

/** Asserts an issue at exactly `pointer` in `file`, whose line shows the named property. */
function assertIssueAt(text: string, issues: Issue[], pointer: string, file = FILE): Issue {
  const issue = issues.find((i) => i.pointer === pointer);
  assert.ok(issue, `expected an issue at ${pointer}, got ${JSON.stringify(issues, null, 2)}`);
  assert.equal(issue.file, file);
  assert.equal(typeof issue.line, 'number');
  const last = pointer.split('/').pop() ?? '';
  // A missing property has no line of its own: its issue shows the line of its parent.
  if (last !== '' && !/^\d+$/.test(last) && issue.message !== 'is required') {
    const lineText = text.split('\n')[(issue.line ?? 0) - 1] ?? '';
    assert.ok(
      lineText.includes(`"${last}"`),
      `line ${issue.line} (${lineText.trim()}) should show "${last}"`,
    );
  }
  return issue;
}

describe('profile lint', () => {
  it('accepts the base document and expands it with every default', () => {
    const { issues } = lintDoc(baseDoc());
    assert.deepEqual(issues, []);
    const loaded = loadProfileText(JSON.stringify(baseDoc()), FILE, { templates: TEMPLATES });
    assert.deepEqual(loaded.quirks, {
      wordOrder: 'ABCD',
      maxRegistersPerRead: 125,
      maxBitsPerRead: 2000,
      noFc16: false,
      interFrameDelayMs: 0,
      forbiddenRanges: [],
      responseTimeoutMs: 1000,
    });
    assert.equal(loaded.pollIntervalMs, 1000);
    assert.equal(loaded.file, FILE);
    assert.deepEqual(
      loaded.children.map((c) => c.id),
      ['node_01', 'node_02', 'node_03', 'node_04'],
    );
    const level = loaded.points.find((p) => p.key === 'level');
    assert.deepEqual(level, {
      key: 'level',
      id: 'level',
      child: null,
      name: n('Level'),
      table: 'input',
      address: 0,
      count: 1,
      type: 'u16',
      bit: null,
      wordOrder: 'ABCD',
      scale: 1,
      offset: 0,
      unit: '%',
      writable: false,
      min: null,
      max: null,
    });
    const hours = loaded.points.find((p) => p.key === 'node_03.hours');
    assert.equal(hours?.address, 200 + 2 * 4 + 2);
    assert.equal(hours?.count, 2);
    assert.equal(hours?.child, 'node_03');
    assert.equal(loaded.points.find((p) => p.key === 'node_04.on')?.address, 112);
    const fault = loaded.alarms.find((r) => r.key === 'node_02.fault');
    assert.deepEqual(fault, {
      id: 'fault',
      kind: 'boolean',
      point: 'fault',
      source: 'test',
      key: 'node_02.fault',
      child: 'node_02',
      pointKey: 'node_02.fault',
    });
    const comm = loaded.alarms.find((r) => r.key === 'comm_loss');
    assert.equal(comm?.pointKey, undefined);
    assert.equal(comm?.child, null);
  });

  const cases: { rule: string; pointer: string; breakIt: (doc: ProfileDocument) => void }[] = [
    // --- register layout
    {
      rule: 'overlapping registers',
      pointer: '/points/3/address',
      breakIt: (d) => (point(d, 3)['address'] = 1),
    },
    {
      rule: '32-bit point occupies two registers',
      pointer: '/points/7/address',
      breakIt: (d) =>
        d.points.push({ id: 'extra', name: n('Extra'), table: 'input', address: 3, type: 'u16', unit: '1' }),
    },
    {
      rule: 'bit point shares a register with a non-bit point',
      pointer: '/points/1/address',
      breakIt: (d) => (point(d, 1)['address'] = 0),
    },
    { rule: 'same bit twice', pointer: '/points/2/bit', breakIt: (d) => (point(d, 2)['bit'] = 0) },
    {
      rule: 'overlapping block instances',
      pointer: '/blocks/0/stride',
      breakIt: (d) => (block(d, 0)['stride'] = 2),
    },
    {
      rule: 'block overlaps a device point',
      pointer: '/blocks/0/base/input',
      breakIt: (d) => (block(d, 0)['base'] = { holding: 100, input: 2 }),
    },
    {
      rule: 'block overlaps another block',
      pointer: '/blocks/1/base/input',
      breakIt: (d) =>
        d.blocks?.push({
          id: 'spare',
          template: 'test-node',
          count: 1,
          base: { holding: 500, input: 212 },
          stride: 4,
        }),
    },
    {
      rule: '32-bit point past 65535',
      pointer: '/points/3/address',
      breakIt: (d) => (point(d, 3)['address'] = 65535),
    },
    {
      rule: 'point in a forbidden range',
      pointer: '/points/3/address',
      breakIt: (d) => (d.quirks = { forbiddenRanges: [{ table: 'input', start: 3, end: 9 }] }),
    },
    {
      rule: 'block instance in a forbidden range',
      pointer: '/blocks/0/base/input',
      breakIt: (d) => (d.quirks = { forbiddenRanges: [{ table: 'input', start: 205, end: 205 }] }),
    },
    {
      rule: 'forbidden range ends before it starts',
      pointer: '/quirks/forbiddenRanges/0/end',
      breakIt: (d) => (d.quirks = { forbiddenRanges: [{ table: 'holding', start: 9, end: 3 }] }),
    },
    {
      rule: 'maxRegistersPerRead below a 32-bit point',
      pointer: '/quirks/maxRegistersPerRead',
      breakIt: (d) => (d.quirks = { maxRegistersPerRead: 1 }),
    },
    // --- points
    { rule: 'unique point ids', pointer: '/points/1/id', breakIt: (d) => (point(d, 1)['id'] = 'level') },
    { rule: 'min <= max', pointer: '/points/4/max', breakIt: (d) => (point(d, 4)['min'] = 200) },
    {
      rule: 'writable non-bool needs min and max',
      pointer: '/points/4',
      breakIt: (d) => delete point(d, 4)['max'],
    },
    { rule: 'non-bool needs a unit', pointer: '/points/0', breakIt: (d) => delete point(d, 0)['unit'] },
    {
      rule: 'discrete points are bool',
      pointer: '/points/6/type',
      breakIt: (d) => Object.assign(point(d, 6), { type: 'u16', unit: '1' }),
    },
    { rule: 'coil points take no bit', pointer: '/points/5/bit', breakIt: (d) => (point(d, 5)['bit'] = 0) },
    { rule: 'bit only on bool', pointer: '/points/0/bit', breakIt: (d) => (point(d, 0)['bit'] = 3) },
    {
      rule: 'wordOrder only on 32-bit types',
      pointer: '/points/0/wordOrder',
      breakIt: (d) => (point(d, 0)['wordOrder'] = 'CDAB'),
    },
    {
      rule: 'writable only on coil or holding (input)',
      pointer: '/points/0/writable',
      breakIt: (d) => Object.assign(point(d, 0), { writable: true, min: 0, max: 100 }),
    },
    {
      rule: 'writable only on coil or holding (discrete)',
      pointer: '/points/6/writable',
      breakIt: (d) => (point(d, 6)['writable'] = true),
    },
    {
      rule: 'scale must not be zero',
      pointer: '/points/0/scale',
      breakIt: (d) => (point(d, 0)['scale'] = 0),
    },
    { rule: 'no scale on bool', pointer: '/points/1/scale', breakIt: (d) => (point(d, 1)['scale'] = 2) },
    // --- blocks
    {
      rule: 'referenced template exists',
      pointer: '/blocks/0/template',
      breakIt: (d) => (block(d, 0)['template'] = 'no-such-node'),
    },
    {
      rule: 'block base per used table',
      pointer: '/blocks/0/base',
      breakIt: (d) => (block(d, 0)['base'] = { input: 200 }),
    },
    // --- alarms
    {
      rule: 'unique alarm rule ids',
      pointer: '/alarms/1/id',
      breakIt: (d) => (rule(d, 1)['id'] = 'level_high'),
    },
    {
      rule: 'alarm rule references an existing point',
      pointer: '/alarms/0/point',
      breakIt: (d) => (rule(d, 0)['point'] = 'nope'),
    },
    {
      rule: 'high setpoints ascend with level',
      pointer: '/alarms/0/levels/1/setpoint',
      breakIt: (d) =>
        (rule(d, 0)['levels'] = [
          { level: 1, setpoint: 50 },
          { level: 2, setpoint: 40 },
        ]),
    },
    {
      rule: 'low setpoints descend with level',
      pointer: '/alarms/1/levels/1/setpoint',
      breakIt: (d) =>
        (rule(d, 1)['levels'] = [
          { level: 1, setpoint: 20 },
          { level: 2, setpoint: 30 },
        ]),
    },
    {
      rule: 'levels listed 1, 2, 3',
      pointer: '/alarms/0/levels/1/level',
      breakIt: (d) =>
        (rule(d, 0)['levels'] = [
          { level: 1, setpoint: 50 },
          { level: 3, setpoint: 80 },
        ]),
    },
    { rule: 'high rule needs levels', pointer: '/alarms/0', breakIt: (d) => delete rule(d, 0)['levels'] },
    {
      rule: 'boolean rule needs a bool point',
      pointer: '/alarms/2/point',
      breakIt: (d) => (rule(d, 2)['point'] = 'level'),
    },
    {
      rule: 'high rule needs a numeric point',
      pointer: '/alarms/0/point',
      breakIt: (d) => (rule(d, 0)['point'] = 'door'),
    },
    {
      rule: 'comm_loss takes no point',
      pointer: '/alarms/3/point',
      breakIt: (d) => (rule(d, 3)['point'] = 'level'),
    },
    {
      rule: 'comm_loss needs staleAfterS',
      pointer: '/alarms/3',
      breakIt: (d) => delete rule(d, 3)['staleAfterS'],
    },
    {
      rule: 'activeWhen only on boolean rules',
      pointer: '/alarms/0/activeWhen',
      breakIt: (d) => (rule(d, 0)['activeWhen'] = true),
    },
    // --- schema (shape, enums, patterns, ranges)
    {
      rule: 'schema: snake_case point id',
      pointer: '/points/0/id',
      breakIt: (d) => (point(d, 0)['id'] = 'Level'),
    },
    {
      rule: 'schema: unknown property',
      pointer: '/points/0/colour',
      breakIt: (d) => (point(d, 0)['colour'] = 'red'),
    },
    { rule: 'schema: bit 0..15', pointer: '/points/1/bit', breakIt: (d) => (point(d, 1)['bit'] = 16) },
    {
      rule: 'schema: address 0..65535',
      pointer: '/points/0/address',
      breakIt: (d) => (point(d, 0)['address'] = 65536),
    },
    {
      rule: 'schema: table enum',
      pointer: '/points/0/table',
      breakIt: (d) => (point(d, 0)['table'] = 'register'),
    },
    {
      rule: 'schema: word order enum',
      pointer: '/points/3/wordOrder',
      breakIt: (d) => (point(d, 3)['wordOrder'] = 'DABC'),
    },
    {
      rule: 'schema: maxRegistersPerRead 1..125',
      pointer: '/quirks/maxRegistersPerRead',
      breakIt: (d) => (d.quirks = { maxRegistersPerRead: 126 }),
    },
    {
      rule: 'schema: maxBitsPerRead 1..2000',
      pointer: '/quirks/maxBitsPerRead',
      breakIt: (d) => (d.quirks = { maxBitsPerRead: 2001 }),
    },
    {
      rule: 'schema: block count >= 1',
      pointer: '/blocks/0/count',
      breakIt: (d) => (block(d, 0)['count'] = 0),
    },
    {
      rule: 'schema: alarm rule needs a source',
      pointer: '/alarms/0/source',
      breakIt: (d) => delete rule(d, 0)['source'],
    },
    {
      rule: 'schema: alarm kind enum',
      pointer: '/alarms/0/kind',
      breakIt: (d) => (rule(d, 0)['kind'] = 'above'),
    },
    { rule: 'schema: kebab-case profile id', pointer: '/id', breakIt: (d) => (d.id = 'Acme_X1') },
    {
      rule: 'schema: family enum',
      pointer: '/family',
      breakIt: (d) => ((d as unknown as Loose)['family'] = 'parking'),
    },
    // --- layout
    { rule: 'file name equals id', pointer: '/id', breakIt: (d) => (d.id = 'acme-x2') },
    { rule: 'folder equals family', pointer: '/family', breakIt: (d) => (d.family = 'manhole-cover') },
  ];

  for (const c of cases) {
    it(`reports: ${c.rule} (${c.pointer})`, () => {
      const doc = baseDoc();
      c.breakIt(doc);
      const { text, issues } = lintDoc(doc);
      assertIssueAt(text, issues, c.pointer);
    });
  }

  it('throws ProfileError with code PROFILE_INVALID and every issue', () => {
    const doc = baseDoc();
    point(doc, 4)['min'] = 200;
    point(doc, 1)['id'] = 'level';
    assert.throws(
      () => loadProfileText(JSON.stringify(doc, null, 2), FILE, { templates: TEMPLATES }),
      (err: unknown) => {
        assert.ok(err instanceof ProfileError);
        assert.equal(err.code, 'PROFILE_INVALID');
        assert.deepEqual(err.issues.map((i) => i.pointer).sort(), ['/points/1/id', '/points/4/max']);
        assert.match(err.message, /acme-x1\.json:\d+ \/points\/4\/max: max 100 is below min 200/);
        return true;
      },
    );
  });

  it('reports malformed JSON with its line', () => {
    const text = ['{', '  "id": "acme-x1",', '  "family": "gas-detector"', '  "vendor": "Acme"', '}'].join(
      '\n',
    );
    const issues = lintProfile(text, FILE, { templates: TEMPLATES });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.file, FILE);
    assert.equal(issues[0]?.pointer, '');
    assert.equal(issues[0]?.line, 4);
    assert.match(issues[0]?.message ?? '', /malformed JSON/);
  });

  it('reports truncated JSON on its last line', () => {
    const text = ['{', '  "id": "acme-x1",', '  "points": [', ''].join('\n');
    const issues = lintProfile(text, FILE, { templates: TEMPLATES });
    assert.equal(issues[0]?.line, 3);
  });
});

describe('template lint', () => {
  const TFILE = '/virtual/templates/test-node.json';
  const lint = (doc: unknown): { text: string; issues: Issue[] } => {
    const text = JSON.stringify(doc, null, 2);
    return { text, issues: lintTemplate(text, TFILE) };
  };

  it('accepts the base template', () => {
    assert.deepEqual(lint(baseTemplate()).issues, []);
    assert.equal(loadTemplateText(JSON.stringify(baseTemplate()), TFILE).id, 'test-node');
  });

  const cases: { rule: string; pointer: string; breakIt: (doc: TemplateDocument) => void }[] = [
    {
      rule: 'template alarm references an existing template point',
      pointer: '/alarms/0/point',
      breakIt: (t) => ((t.alarms?.[0] as unknown as Loose)['point'] = 'missing'),
    },
    {
      rule: 'overlap inside the template',
      pointer: '/points/3/address',
      breakIt: (t) => ((t.points[3] as unknown as Loose)['address'] = 1),
    },
    {
      rule: 'unique template point ids',
      pointer: '/points/1/id',
      breakIt: (t) => ((t.points[1] as unknown as Loose)['id'] = 'on'),
    },
    {
      rule: 'no comm_loss in templates',
      pointer: '/alarms/1/kind',
      breakIt: (t) => t.alarms?.push({ id: 'gone', kind: 'comm_loss', staleAfterS: 10, source: 'test' }),
    },
    { rule: 'template id equals file name', pointer: '/id', breakIt: (t) => (t.id = 'other-node') },
    {
      rule: 'schema: template points follow the point schema',
      pointer: '/points/0/type',
      breakIt: (t) => ((t.points[0] as unknown as Loose)['type'] = 'u64'),
    },
  ];
  for (const c of cases) {
    it(`reports: ${c.rule} (${c.pointer})`, () => {
      const doc = baseTemplate();
      c.breakIt(doc);
      const { text, issues } = lint(doc);
      assertIssueAt(text, issues, c.pointer, TFILE);
    });
  }
});

describe('profile files and directories on disk', () => {
  const root = mkdtempSync(join(tmpdir(), 'kerbside-profiles-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const write = (relative: string, content: string): string => {
    const file = join(root, relative);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    return file;
  };

  it('loads a directory, finding templates in templates/, and reports bad files without stopping', () => {
    const dir = join(root, 'mixed');
    write('mixed/templates/test-node.json', JSON.stringify(baseTemplate(), null, 2));
    const good = write('mixed/gas-detector/acme-x1.json', JSON.stringify(baseDoc(), null, 2));
    const broken = baseDoc();
    broken.id = 'acme-x2';
    point(broken, 4)['min'] = 500;
    const bad = write('mixed/gas-detector/acme-x2.json', JSON.stringify(broken, null, 2));
    const malformed = write('mixed/gas-detector/acme-x3.json', '{\n  "id": "acme-x3",\n  "family": \n}\n');

    const { profiles, issues } = loadProfileDirectory(dir);
    assert.deepEqual([...profiles.keys()], ['acme-x1']);
    assert.equal(profiles.get('acme-x1')?.file, good);
    assert.equal(profiles.get('acme-x1')?.children.length, 4);
    const badIssue = issues.find((i) => i.file === bad);
    assert.equal(badIssue?.pointer, '/points/4/max');
    assert.equal(typeof badIssue?.line, 'number');
    const parseIssue = issues.find((i) => i.file === malformed);
    assert.equal(parseIssue?.line, 4);
    assert.equal(issues.length, 2);
  });

  it('reports an invalid template once, and the block that uses it', () => {
    const dir = join(root, 'bad-template');
    const template = baseTemplate();
    (template.points[1] as unknown as Loose)['id'] = 'on';
    const templateFile = write('bad-template/templates/test-node.json', JSON.stringify(template, null, 2));
    const profileFile = write('bad-template/gas-detector/acme-x1.json', JSON.stringify(baseDoc(), null, 2));
    const { profiles, issues } = loadProfileDirectory(dir);
    assert.equal(profiles.size, 0);
    assert.deepEqual(
      issues.map((i) => [basename(i.file ?? ''), i.pointer]),
      [
        [basename(templateFile), '/points/1/id'],
        [basename(profileFile), '/blocks/0/template'],
      ],
    );
  });

  it('loadProfileFile reads templates beside the family folder and throws ProfileError on issues', () => {
    write('single/templates/test-node.json', JSON.stringify(baseTemplate(), null, 2));
    const file = write('single/gas-detector/acme-x1.json', JSON.stringify(baseDoc(), null, 2));
    assert.equal(loadProfileFile(file).children.length, 4);

    const missing = write('single/gas-detector/acme-x9.json', '{ "id": "acme-x9" }');
    assert.throws(
      () => loadProfileFile(missing),
      (err: unknown) =>
        err instanceof ProfileError && err.issues.some((i) => i.file === missing && i.pointer === '/family'),
    );
    assert.throws(
      () => loadProfileFile(join(root, 'single/gas-detector/none.json')),
      (err: unknown) => err instanceof ProfileError && /cannot read file/.test(err.issues[0]?.message ?? ''),
    );
  });

  it('reports a directory that does not exist', () => {
    const { profiles, issues } = loadProfileDirectory(join(root, 'nowhere'));
    assert.equal(profiles.size, 0);
    assert.equal(issues.length, 1);
  });
});
