/** The results as a plain-text table (also valid Markdown). */
import type { BenchResults } from '../harness.js';

const format = (value: number, unit: string): string => {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit === '' ? '' : ` ${unit}`}`;
};

export const formatTable = (results: BenchResults): string => {
  const rows = results.figures.map((f) => [
    f.id,
    f.label,
    format(f.value, f.unit),
    f.target ?? '(informative)',
    f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}×`,
    f.pass === undefined ? '' : f.pass ? 'pass' : 'FAIL',
  ]);
  const header = ['figure', 'what', 'value', 'target', 'ratio', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const { machine } = results;
  return [
    `${results.quick ? 'QUICK (smoke) run: sizes are tiny, figures mean nothing. ' : ''}Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.platform}; load average ${machine.loadAverage.start.toFixed(1)} at the start, ${machine.loadAverage.end.toFixed(1)} at the end`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
};
