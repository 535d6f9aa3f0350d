/**
 * The repository explains itself (ARCHITECTURE.md, docs/): every relative link in its markdown
 * documents leads to a file that exists, every citation of a section names a heading that exists,
 * and nothing cites a document that lives outside the repository (the old design handbook and
 * domain notes, or a sibling folder).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The markdown documents a reader is sent to. */
function markdownDocs(): string[] {
  const docs = ['README.md', 'ARCHITECTURE.md', 'device-profiles/README.md', 'simulators/README.md'];
  for (const name of readdirSync(join(root, 'docs'))) if (name.endsWith('.md')) docs.push(`docs/${name}`);
  return docs.filter((doc) => existsSync(join(root, doc)));
}

/** Markdown text without fenced code blocks and inline code, where brackets are not links. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Targets of `[text](target)` links, without titles. */
function linkTargets(text: string): string[] {
  const targets: string[] = [];
  for (const match of prose(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    if (match[1] !== undefined) targets.push(match[1]);
  }
  return targets;
}

/** Heading texts of a markdown file, and the bold labels that start a paragraph or list item. */
function sectionNames(path: string): string[] {
  const names: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (heading?.[1] !== undefined) names.push(heading[1].replace(/`/g, ''));
    const label = /^\s*(?:-\s+|\d+\.\s+)?\*\*([^*]+)\*\*/.exec(line);
    if (label?.[1] !== undefined) names.push(label[1]);
  }
  return names;
}

/** A citation may shorten a section's name to its start ("Reconnect" for "Reconnect schedule"). */
function hasSection(path: string, cited: string): boolean {
  const wanted = cited.toLowerCase().replace(/[.:]$/, '');
  return sectionNames(path).some((name) => name.toLowerCase().startsWith(wanted));
}

const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', 'data']);
const TEXT_FILE = /\.(ts|js|mjs|cjs|json|md|sh|py|ya?ml|txt)$/;

/** Every text file of the repository, as paths relative to its root. */
function textFiles(dir = root): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!SKIPPED_DIRS.has(name) && !(name.startsWith('.') && name !== '.ci'))
        files.push(...textFiles(path));
    } else if (TEXT_FILE.test(name) || dir.endsWith('.ci')) {
      files.push(relative(root, path));
    }
  }
  return files;
}

// Spelt in pieces so that this file does not cite them itself.
const FORBIDDEN = [['DESIGN', '.md'].join(''), ['DOMAIN', '.md'].join(''), ['..', '/shared'].join('')];

describe('repository documents', () => {
  it('link only to files that exist', () => {
    const broken: string[] = [];
    for (const doc of markdownDocs()) {
      for (const target of linkTargets(readFileSync(join(root, doc), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // URL or anchor
        const file = decodeURIComponent(target.split('#')[0] ?? '');
        const path = resolve(root, dirname(doc), file);
        if (!path.startsWith(root) || !existsSync(path)) broken.push(`${doc}: ${target}`);
      }
    }
    assert.deepEqual(broken, [], 'relative links to files that do not exist');
  });

  it('cite sections by names the cited document has', () => {
    const wrong: string[] = [];
    // `ARCHITECTURE.md, "Invariants"`, `docs/storage.md, "A full disk"`, and in docs/ a markdown
    // link followed by the section's name in quotes
    const citation = /((?:[\w.-]+\/)*[\w.-]+\.md)\)?, "([^"\n]+)"/g;
    for (const file of textFiles()) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(citation)) {
        const [, cited, section] = match;
        if (cited === undefined || section === undefined) continue;
        const candidates = [resolve(root, cited), resolve(root, dirname(file), cited)];
        const path = candidates.find((candidate) => existsSync(candidate));
        if (path === undefined) {
          wrong.push(`${file}: ${cited} does not exist`);
        } else if (!hasSection(path, section)) {
          wrong.push(`${file}: ${cited} has no section "${section}"`);
        }
      }
    }
    assert.deepEqual(wrong, [], 'citations of sections that do not exist');
  });

  it('cite nothing outside the repository', () => {
    const citing: string[] = [];
    for (const file of textFiles()) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const forbidden of FORBIDDEN) if (text.includes(forbidden)) citing.push(`${file}: ${forbidden}`);
    }
    assert.deepEqual(citing, [], 'files citing documents that are not in the repository');
  });

  it('finds the documents it checks', () => {
    const docs = markdownDocs();
    for (const doc of ['README.md', 'ARCHITECTURE.md', 'docs/domain.md', 'docs/uplink-contract.md']) {
      assert.ok(docs.includes(doc), doc);
    }
    assert.ok(textFiles().includes('gateway/gateway.ts'));
    const links = docs.flatMap((doc) => linkTargets(readFileSync(join(root, doc), 'utf8')));
    assert.ok(links.filter((target) => !/^[a-z]+:/i.test(target)).length > 50, 'relative links found');
  });

  it('reads link targets the way markdown does', () => {
    const sample = [
      'See [the map](../ARCHITECTURE.md#code-map) and [docs](docs/ "titled").',
      'Not `[code](missing.md)`, nor:',
      '```',
      '[fenced](missing.md)',
      '```',
    ].join('\n');
    assert.deepEqual(linkTargets(sample), ['../ARCHITECTURE.md#code-map', 'docs/']);
  });
});
