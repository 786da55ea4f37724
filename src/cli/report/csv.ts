/** CSV as RFC 4180 writes it: one header row, CRLF line ends, a field quoted when it holds `"`, `,`, CR or LF. */

/**
 * A field: quoted (with `"` doubled) when it holds a comma, a quote or a line break. A field that
 * starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` so a spreadsheet does not run it as
 * a formula (OWASP "CSV injection"); no value this CLI writes starts so, except by a user's naming.
 */
const field = (value: string): string => {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/**
 * The CSV text of `rows` under `headers`.
 *
 * @example
 * ```ts
 * csv(['name', 'reason'], [['app', 'a, b']]); // 'name,reason\r\napp,"a, b"\r\n'
 * ```
 */
export const csv = (headers: readonly string[], rows: readonly (readonly string[])[]): string =>
  [headers, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
