/** Making findings, and telling the blocking ones. */
import type { AdvisoryFinding, BlockingFinding, Finding, PreflightCheck, PreflightFindingError } from './types.js';

/** A finding that stops creation, with the typed error it would return. */
export const errorFinding = <E extends PreflightFindingError>(check: PreflightCheck, message: string, error: E): BlockingFinding<E> => ({
  check,
  severity: 'error',
  message,
  error,
});

/** A finding that stops nothing. */
export const note = (check: PreflightCheck, severity: AdvisoryFinding['severity'], message: string): AdvisoryFinding => ({ check, severity, message });

/** Whether a finding stops creation. */
export const isBlocking = (finding: Finding): finding is BlockingFinding => finding.severity === 'error';

export const hasError = (findings: readonly Finding[]): boolean => findings.some(isBlocking);
