import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT, exitHelp } from '../../src/cli/exit-codes.js';
import { ERROR_KINDS, type ErrorKindInfo } from '../../src/index.js';

const GENERATED = fileURLToPath(new URL('../../src/cli/exit-help.generated.ts', import.meta.url));

/** The error kinds that end with each exit code, from ERROR_KINDS (a kind with `unless` under both codes). */
const kindsByExitCode = (): Map<number, string[]> => {
  const byCode = new Map<number, string[]>();
  for (const [kind, row] of Object.entries(ERROR_KINDS) as [string, ErrorKindInfo][]) {
    for (const category of new Set([row.category, ...(row.unless === undefined ? [] : [row.unless.category])])) {
      const code = EXIT[category];
      byCode.set(code, [...(byCode.get(code) ?? []), kind]);
    }
  }
  return new Map([...byCode].sort(([a], [b]) => a - b));
};

const render = (): string =>
  [
    '// Generated from ERROR_KINDS by test/unit/exit-help.test.ts (UPDATE_EXIT_HELP=1): do not edit.',
    '// The CLI cannot read the table itself for `--help`, which must load no library module.',
    '',
    '/** The library error kinds that end with each exit code. */',
    'export const EXIT_KINDS: Readonly<Record<number, readonly string[]>> = {',
    ...[...kindsByExitCode()].map(([code, kinds]) => `  ${code}: [${kinds.map((k) => `'${k}'`).join(', ')}],`),
    '};',
    '',
  ].join('\n');

describe('the exit codes in --help', () => {
  it('list, under each code, exactly the error kinds ERROR_KINDS gives it (src/cli/exit-help.generated.ts is up to date)', () => {
    if (process.env.UPDATE_EXIT_HELP === '1') writeFileSync(GENERATED, render());
    expect(readFileSync(GENERATED, 'utf8')).toBe(render());
  });

  it('name every code once, in order, with every kind of the table under its code', () => {
    const help = exitHelp();
    const codes = [...help.matchAll(/^ {2}(\d+)\s/gm)].map((m) => Number(m[1]));
    expect(codes).toEqual([...new Set(Object.values(EXIT))].sort((a, b) => a - b));
    for (const kind of Object.keys(ERROR_KINDS)) expect(help, kind).toMatch(new RegExp(`\\b${kind}\\b`));
    for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });
});
