/**
 * The docs a newcomer reads stay short, linked and true to the code: the README fits in 300 lines
 * and shows only benchmark figures `npm run bench` produces, every relative link of the README and docs/ leads to a file, docs/cli.md documents every command
 * and option the CLI registers and exactly the exit codes its help prints, and docs/architecture.md
 * names every top-level folder of src/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import type { CliIo } from '../../src/cli/output.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const DOCS = ['README.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/**
 * Docs other branches of this round write (the errors engineer writes docs/errors.md): a link to
 * one is checked once it exists. Remove an entry when its file is merged.
 */
const WRITTEN_ELSEWHERE = new Set<string>();

/** Every `[text](target)` whose target is a relative path (no scheme, no pure anchor), outside code blocks. */
const relativeLinks = (markdown: string): string[] =>
  [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/#.*$/, ''));

const io: CliIo = { out: () => undefined, err: () => undefined, errRaw: () => undefined, stdoutIsTty: false, stderrIsTty: false, stdinIsTty: false, env: {} };

/** Every runnable command of the CLI, as its path (`grants retire`), with its long options. */
const visible = new Help();
const commandsOf = (command: Command, path: readonly string[] = []): { path: string; options: string[] }[] =>
  visible
    .visibleCommands(command)
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => {
      const here = [...path, c.name()];
      const own = { path: here.join(' '), options: c.options.flatMap((o) => (o.long === undefined || o.hidden ? [] : [o.long])) };
      const children = commandsOf(c, here);
      // A group without an action of its own (`grants`, `policy`) is documented through its subcommands.
      return c.commands.length > 0 && own.options.length === 0 ? children : [own, ...children];
    });

const section = (doc: string, heading: RegExp): string => {
  const parts = doc.split(/^## /m);
  return parts.filter((p) => heading.test(p.split('\n')[0] ?? '')).join('\n');
};

describe('README.md', () => {
  it('is at most 300 lines', () => {
    const lines = read('README.md').split('\n').length;
    expect(lines, 'README.md is the ten-minute read: move detail to docs/').toBeLessThanOrEqual(300);
  });

  it('keeps the two set-up commands, the second being what .ci/run runs after npm ci', () => {
    const readme = read('README.md');
    expect(readme).toContain('```sh\nnpm ci && npm run demo\n```');
    expect(readme).toContain('```sh\nnpm ci && npm test\n```');
    const ci = read('.ci/run');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});

describe('README.md benchmarks', () => {
  it('shows only figures `npm run bench` produces, with the command that reproduces them', () => {
    const readme = read('README.md');
    const table = section(readme, /^Benchmarks/);
    expect(table).toContain('npm run bench');
    const ids = [...table.matchAll(/^\| `([a-zA-Z.0-9]+)` \|/gm)].map((m) => m[1] ?? '');
    expect(ids.length).toBeGreaterThan(5);
    const bench = readdirSync(join(ROOT, 'bench'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => read(`bench/${f}`))
      .join('\n');
    // A figure id is written whole in bench/ (`id: 'throughput.ratio'`), or per size (`memory.peak.${…}`).
    const produced = (id: string): boolean => bench.includes(`'${id}'`) || bench.includes(`\`${id.replace(/[^.]+$/, '')}\${`);
    expect(ids.filter((id) => !produced(id))).toEqual([]);
  });
});

describe('links', () => {
  it.each(DOCS)('every relative link of %s leads to a file', (doc) => {
    const broken = relativeLinks(read(doc))
      .map((target) => relative(ROOT, resolve(ROOT, dirname(doc), target)))
      .filter((target) => !existsSync(join(ROOT, target)) && !WRITTEN_ELSEWHERE.has(target));
    expect(broken).toEqual([]);
  });

  it('finds relative links, and only those (the checker itself)', () => {
    expect(relativeLinks('[a](docs/cli.md) [b](https://x.y/z) [c](#top) [d](../x.md#part)\n```\n[e](nope.md)\n```')).toEqual(['docs/cli.md', '../x.md']);
  });
});

describe('docs/cli.md', () => {
  const doc = read('docs/cli.md');
  const program = buildProgram(io, '0.0.0', () => undefined);
  const commands = commandsOf(program);

  it('finds the commands (the walker itself)', () => {
    expect(commands.map((c) => c.path)).toEqual(expect.arrayContaining(['create', 'migrate', 'migrate resume', 'grants retire', 'policy generate identity', 'local']));
  });

  it.each(commands.map((c) => [c.path, c.options] as const))('documents `%s` and each of its options in its section', (path, options) => {
    const top = path.split(' ')[0] ?? path;
    const own = section(doc, new RegExp('`' + top + '[ `]'));
    expect(own, `docs/cli.md has no "## \`${top}…\`" section`).not.toBe('');
    expect(own).toContain(path);
    const shared = section(doc, /^Conventions/);
    const missing = options.filter((o) => !own.includes(o) && !shared.includes(o));
    expect(missing, `options of \`${path}\` that docs/cli.md does not mention`).toEqual([]);
  });

  it('lists exactly the exit codes the CLI help prints', () => {
    let help = '';
    const helpIo: CliIo = { ...io, out: (text) => (help += `${text}\n`) };
    buildProgram(helpIo, '0.0.0', () => undefined).outputHelp();
    const codesInHelp = [...(help.split('Exit codes:')[1] ?? '').matchAll(/^\s+(\d+)\s/gm)].map((m) => Number(m[1]));
    const codesInDoc = [...section(doc, /^Exit codes/).matchAll(/^\|\s*(\d+)\s*\|/gm)].map((m) => Number(m[1]));
    expect(codesInHelp.length).toBeGreaterThan(5);
    expect(codesInDoc).toEqual(codesInHelp);
  });
});

describe('docs/architecture.md', () => {
  it('names every top-level folder and file of src/', () => {
    const doc = read('docs/architecture.md');
    const entries = readdirSync(join(ROOT, 'src')).map((e) => (statSync(join(ROOT, 'src', e)).isDirectory() ? `src/${e}/` : `src/${e}`));
    expect(entries.filter((e) => !doc.includes(e))).toEqual([]);
  });
});
