import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/paths.ts';

/** The README and every page under docs/, by path relative to the repository. */
const PAGES = [
  'README.md',
  ...readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

const withoutCode = (markdown: string) =>
  markdown.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1] ?? '')));
}

describe('docs', () => {
  it('when a page links to a file or a heading in the repository, then it exists', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      const dir = path.dirname(path.join(REPO_ROOT, page));
      const text = withoutCode(readFileSync(path.join(REPO_ROOT, page), 'utf8'));
      for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file = '', hash] = target.split('#');
        const resolved = file === '' ? path.join(REPO_ROOT, page) : path.join(dir, file);
        if (!existsSync(resolved)) broken.push(`${page}: ${target} (no such file)`);
        else if (hash !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(hash))
          broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    assert.deepEqual(broken, []);
  });
});

describe('Makefile', () => {
  it('when make help is printed, then it names every target', () => {
    const makefile = readFileSync(path.join(REPO_ROOT, 'Makefile'), 'utf8');
    const phony = /^\.PHONY: (.+)$/m.exec(makefile)?.[1]?.split(/\s+/) ?? [];
    const help = [...makefile.matchAll(/^\t@echo "(.*)"$/gm)].map((m) => m[1]).join('\n');
    const rules = [...makefile.matchAll(/^([a-z][a-z-]*):/gm)].map((m) => m[1] ?? '');
    assert.deepEqual(
      rules.filter((target) => !phony.includes(target)),
      [],
      'every rule is .PHONY',
    );
    const unnamed = phony.filter(
      (target) => target !== 'help' && !new RegExp(`make ${target}\\b(?!-)`).test(help),
    );
    assert.deepEqual(unnamed, [], 'targets missing from make help');
  });
});
