/**
 * Issue 15's output layer without AWS: tables cut to the width (B9), shortened ids, word wrapping,
 * CSV quoting (RFC 4180), JUnit counts, `--fail-on` parsing and JMESPath `--query`.
 */
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { csv } from '../../../src/cli/report/csv.js';
import { junitXml } from '../../../src/cli/report/junit.js';
import { parseQuery } from '../../../src/cli/report/query.js';
import { parseFailOn } from '../../../src/cli/report/spec.js';
import { genericTable, renderTable, shortenMiddle, shortGrantId, shortKeyArn, terminalWidth, wrapText, wrapWords } from '../../../src/cli/report/table.js';

const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const GRANT = '0c7d9f0e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5';
const REASON = 'encrypted with the AWS-managed key aws/ecr; the rule requires a customer-managed key';

const auditRows = [
  ['team/a-rather-long-repository-name-for-narrow-terminals', 'KMS', shortKeyArn(KEY), 'AWS', 'PendingDeletion', 'FAIL', REASON],
  ['plain', 'AES256', '', '', '', 'FAIL', 'encrypted with AES256; the rule requires a customer-managed KMS key'],
  ['ok', 'KMS', shortKeyArn(KEY), 'CUSTOMER', 'Enabled', 'pass', ''],
];
const AUDIT_HEADERS = ['REPOSITORY', 'ENCRYPTION', 'KEY', 'MANAGER', 'STATE', 'STATUS', 'REASON'];
const maxLine = (text: string): number => Math.max(...text.split('\n').map((l) => [...l].length));

describe('ids in tables', () => {
  it('a key ARN becomes arn:…:key/<first 8>…, a grant id its first 12 characters and …', () => {
    expect(shortKeyArn(KEY)).toBe('arn:…:key/1234abcd…');
    expect(shortKeyArn('arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd5678')).toBe('arn:…:key/mrk-1234…');
    expect(shortKeyArn('alias/app')).toBe('alias/app');
    expect(shortGrantId(GRANT)).toBe('0c7d9f0e1a2b…');
    expect(shortGrantId('short')).toBe('short');
  });
});

describe('renderTable cut to the width', () => {
  it.each([40, 60, 80, 100, 120, 200])('no line is longer than %i', (width) => {
    expect(maxLine(renderTable(AUDIT_HEADERS, auditRows, width))).toBeLessThanOrEqual(width);
    expect(maxLine(renderTable(['KEY', 'MANAGER', 'STATE', 'REPOSITORIES', 'GRANTS', 'ORPHANS', 'HEADROOM', 'EST/MONTH'], [[shortKeyArn(KEY), 'CUSTOMER', 'Enabled', '1', '4', '2', '49996', '$1.00']], width))).toBeLessThanOrEqual(width);
  });

  it('when the width allows, nothing is cut: every value is whole', () => {
    const table = renderTable(AUDIT_HEADERS, auditRows, 260);
    for (const row of auditRows) for (const cell of row) expect(table).toContain(cell);
  });

  it('at 80 columns the key id stays readable and REASON moves below its row, wrapped at words', () => {
    const table = renderTable(AUDIT_HEADERS, auditRows, 80);
    expect(table).toContain('arn:…:key/1234abcd…');
    const below = table
      .split('\n')
      .filter((l) => l.startsWith('    '))
      .map((l) => l.trim());
    expect(below.join(' ')).toContain(REASON);
  });

  it('REASON wraps inside its cell, at word boundaries', () => {
    const table = renderTable(['NAME', 'REASON'], [['app', REASON]], 40);
    const lines = table.split('\n').slice(2);
    expect(lines.length).toBeGreaterThan(1);
    const at = table.indexOf('REASON');
    expect(lines.map((l) => l.slice(at)).join(' ')).toBe(REASON);
  });

  it('the width: the terminal when stdout is one, else COLUMNS, else 120', () => {
    expect(terminalWidth({ stdoutIsTty: true, columns: 93, env: { COLUMNS: '50' } })).toBe(93);
    expect(terminalWidth({ stdoutIsTty: false, columns: 93, env: { COLUMNS: '50' } })).toBe(50);
    expect(terminalWidth({ stdoutIsTty: false, env: { COLUMNS: 'wide' } })).toBe(120);
    expect(terminalWidth({ stdoutIsTty: false, env: {} })).toBe(120);
  });

  it('words wrap at spaces, a long word at a hyphen, then at the width', () => {
    expect(wrapWords('the rule requires a customer-managed key', 12)).toEqual(['the rule', 'requires a', 'customer-', 'managed key']);
    expect(wrapWords('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(shortenMiddle('team/a-rather-long-name', 9)).toBe('team…name');
    expect(maxLine(wrapText(`estimated KMS cost: ${'x '.repeat(100)}`, 80))).toBeLessThanOrEqual(80);
  });

  it('a query result of any shape prints as a table', () => {
    expect(genericTable([{ name: 'a', status: 'fail' }], 80).split('\n')[0]).toMatch(/^NAME\s+STATUS$/);
    expect(genericTable(['a', 'b'], 80).split('\n')).toEqual(['VALUE', '-----', 'a', 'b']);
    expect(genericTable(3, 80)).toBe('3');
    expect(genericTable([], 80)).toBe('(no results)');
  });
});

describe('csv (RFC 4180)', () => {
  it('one header row, CRLF records, quotes doubled, commas and line breaks quoted, formulas defused', () => {
    expect(csv(['a', 'b'], [['x, y', 'say "hi"'], ['line\nbreak', '=SUM(A1)']])).toBe('a,b\r\n"x, y","say ""hi"""\r\n"line\nbreak",\'=SUM(A1)\r\n');
  });
});

describe('junit', () => {
  it('counts tests, failures and skipped on the root and each suite, and escapes XML', () => {
    const xml = junitXml(
      'run',
      [
        {
          name: 's1',
          cases: [
            { name: 'a<b', classname: 'c', outcome: 'fail', message: 'x & "y"' },
            { name: 'b', classname: 'c', outcome: 'skipped', message: 'later' },
            { name: 'c', classname: 'c', outcome: 'pass' },
          ],
        },
        { name: 's2', cases: [{ name: 'd', classname: 'c', outcome: 'pass' }] },
      ],
      '2026-01-01T00:00:00.000Z',
    );
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: { tests: string; failures: string; skipped: string; testsuite: { tests: string; failures: string; testcase: { name: string; failure?: { message: string } }[] }[] };
    };
    expect(doc.testsuites).toMatchObject({ tests: '4', failures: '1', skipped: '1' });
    expect(doc.testsuites.testsuite[0]).toMatchObject({ tests: '3', failures: '1' });
    expect(doc.testsuites.testsuite[0]?.testcase[0]).toMatchObject({ name: 'a<b', failure: { message: 'x & "y"' } });
  });
});

describe('--fail-on', () => {
  it('one value, or a list where the command takes one; none alone', () => {
    expect(parseFailOn(undefined, ['fail', 'unknown', 'none'], ['unknown'], false)).toEqual(['unknown']);
    expect(parseFailOn('FAIL', ['fail', 'unknown', 'none'], ['unknown'], false)).toEqual(['fail']);
    expect(parseFailOn('fail,unknown', ['fail', 'unknown', 'none'], ['unknown'], false)).toMatch(/one of/);
    expect(parseFailOn('orphans,undecided', ['orphans', 'undecided', 'none'], ['undecided'], true)).toEqual(['orphans', 'undecided']);
    expect(parseFailOn('none,orphans', ['orphans', 'undecided', 'none'], ['undecided'], true)).toMatch(/none alone/);
    expect(parseFailOn('x', ['orphans', 'undecided', 'none'], ['undecided'], true)).toMatch(/not "x"/);
  });
});

describe('--query (JMESPath)', () => {
  const report = {
    repositories: [
      { name: 'app', status: 'pass', encryption: { type: 'KMS' } },
      { name: 'legacy', status: 'fail', encryption: { type: 'AES256' } },
      { name: 'blind', status: 'unknown', encryption: { type: 'KMS' } },
    ],
  };
  // What jmespath.py 1.1.0 answers for the same document and expressions (python3 -c "import jmespath; …").
  it.each([
    ["repositories[?status=='fail'].name", ['legacy']],
    ['length(@)', 1],
    ['length(repositories)', 3],
    ['repositories[*].name', ['app', 'legacy', 'blind']],
    ["repositories[?encryption.type=='KMS'].[name, status]", [['app', 'pass'], ['blind', 'unknown']]],
    ['repositories[].{n: name}', [{ n: 'app' }, { n: 'legacy' }, { n: 'blind' }]],
    ['missing', null],
  ])('%s', (expression, expected) => {
    const query = parseQuery(expression);
    if (typeof query === 'string') throw new Error(query);
    expect(query.apply(report)).toEqual(expected);
  });

  it('a malformed expression is refused with the parser’s message', () => {
    expect(parseQuery('repositories[?')).toEqual(expect.any(String));
    expect(parseQuery('length(')).toEqual(expect.any(String));
  });
});
