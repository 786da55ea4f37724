/**
 * docs/aws-behaviour.md stays honest: every test it names exists, every live probe has a row, and
 * every awsVariants field it names is one the emulator offers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIVE_PROBE_IDS } from '../../src/probes/live-aws.js';
import { AWS_VARIANT_VALUES } from '../../src/testing/emulator/variants.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ledger = readFileSync(resolve(ROOT, 'docs/aws-behaviour.md'), 'utf8');
const rows = ledger.split('\n').filter((line) => /^\| [a-z0-9]+\.[a-z0-9.-]+( ◆)? \|/.test(line));
const cells = (row: string): string[] => row.split(' | ').map((c) => c.replace(/^\| /, '').replace(/ \|$/, '').trim());
const normalize = (text: string): string => text.replace(/\\'/g, "'").replace(/\\u2019|’/g, "'");

describe('docs/aws-behaviour.md', () => {
  it('has rows of six cells with a known class', () => {
    expect(rows.length).toBeGreaterThan(40);
    for (const row of rows) {
      const c = cells(row);
      expect(c, row).toHaveLength(6);
      expect(c[3], row).toMatch(/documented|reported by others|assumed/);
    }
  });

  it('names only tests that exist', () => {
    const named = [...ledger.matchAll(/(test\/[\w/.-]+\.ts) › ([^|]+?)(?=; (?:test|live)|\s*\|)/g)];
    expect(named.length).toBeGreaterThan(50);
    const missing = named
      .map(([, file = '', name = '']) => ({ file, name: name.trim() }))
      .filter(({ file, name }) => {
        if (!existsSync(resolve(ROOT, file))) return true;
        const source = normalize(readFileSync(resolve(ROOT, file), 'utf8'));
        // The whole name, as a quoted test title: a prefix of another title does not count.
        return !["'", '"', '`'].some((q) => source.includes(`${q}${normalize(name)}${q}`));
      });
    expect(missing).toEqual([]);
  });

  it('has a row, marked as observed live, for every live probe', () => {
    const ids = new Set(rows.map((r) => cells(r)[0]));
    for (const id of LIVE_PROBE_IDS) expect(ids, id).toContain(`${id} ◆`);
  });

  it('names only variants the emulator offers', () => {
    const known = new Set([...Object.keys(AWS_VARIANT_VALUES), 'grantConsistencyDelayMs']);
    for (const row of rows) {
      const variant = cells(row)[5] ?? '';
      if (variant === '—') continue;
      expect(known, row).toContain(variant.replace(/`/g, ''));
    }
  });
});
