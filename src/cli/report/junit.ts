/**
 * JUnit XML as Jenkins (junit plugin) and GitLab (`artifacts:reports:junit`) read it:
 * `<testsuites>` of `<testsuite>`s of `<testcase>`s, a `<failure>` for a failed check, a
 * `<skipped>` for one that could not be made; `tests`, `failures`, `errors` and `skipped` counted
 * on every suite and on the root.
 */

/** One check of one resource. */
export interface JunitCase {
  /** The resource (repository name, grant id). */
  readonly name: string;
  /** The check (shown as the class). */
  readonly classname: string;
  readonly outcome: 'pass' | 'fail' | 'skipped';
  /** For a failure or a skip: the one-line reason; the detail goes in the element's text. */
  readonly message?: string;
  readonly detail?: string;
}

/** A group of cases (one per check, or per key). */
export interface JunitSuite {
  readonly name: string;
  readonly cases: readonly JunitCase[];
}

/** XML 1.0 escapes; characters XML 1.0 cannot carry at all are dropped. */
const xml = (text: string): string =>
  text
    // eslint-disable-next-line no-control-regex -- the control characters XML 1.0 forbids
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

const counts = (cases: readonly JunitCase[]): string =>
  `tests="${cases.length}" failures="${cases.filter((c) => c.outcome === 'fail').length}" errors="0" skipped="${cases.filter((c) => c.outcome === 'skipped').length}"`;

/** The JUnit XML document of `suites`, named `name` at the root. `timestamp` is ISO 8601. */
export const junitXml = (name: string, suites: readonly JunitSuite[], timestamp: string): string => {
  const testcase = (c: JunitCase): string => {
    const open = `    <testcase name="${xml(c.name)}" classname="${xml(c.classname)}" time="0"`;
    if (c.outcome === 'pass') return `${open}/>`;
    const element = c.outcome === 'fail' ? 'failure' : 'skipped';
    const type = c.outcome === 'fail' ? ` type="${xml(c.classname)}"` : '';
    return `${open}>\n      <${element} message="${xml(c.message ?? '')}"${type}>${xml(c.detail ?? c.message ?? '')}</${element}>\n    </testcase>`;
  };
  const all = suites.flatMap((s) => s.cases);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(name)}" ${counts(all)} time="0">`,
    ...suites.flatMap((s) => [
      `  <testsuite name="${xml(s.name)}" ${counts(s.cases)} time="0" timestamp="${xml(timestamp)}">`,
      ...s.cases.map(testcase),
      '  </testsuite>',
    ]),
    '</testsuites>',
  ].join('\n');
};
