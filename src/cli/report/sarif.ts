/**
 * SARIF 2.1.0 (OASIS) for GitHub code scanning: one run, the tool's rules with help text, one
 * result per finding on an AWS resource. The resource has no file: its ARN is the logical location
 * (kind `resource`) and also the artifact URI, because GitHub code scanning refuses a result
 * without `physicalLocation.artifactLocation.uri` (microsoft/sarif-sdk#2704). `partialFingerprints`
 * (rule + ARN) keep one alert per finding across runs.
 */
import { createHash } from 'node:crypto';

/** The official schema's address, as `$schema` (validated in test/cli/report-formats.test.ts against the vendored copy). */
const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** A check the tool makes. */
export interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: string;
  readonly fullDescription: string;
  /** What to do about it (plain text). */
  readonly help: string;
  readonly level: SarifLevel;
}

/** SARIF's levels (§3.27.10). */
type SarifLevel = 'error' | 'warning' | 'note';

/** One finding on one AWS resource. */
export interface SarifFinding {
  readonly ruleId: string;
  readonly level: SarifLevel;
  /** What is wrong, and the command that fixes it. */
  readonly message: string;
  readonly resourceArn: string;
  /** The resource's short name (repository name, key id). */
  readonly resourceName: string;
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** The SARIF log of `findings`, with every rule of `rules` in the driver (GitHub shows their help). */
export const sarifLog = (
  tool: { readonly name: string; readonly version: string; readonly informationUri: string },
  rules: readonly SarifRule[],
  findings: readonly SarifFinding[],
  properties: Readonly<Record<string, unknown>>,
): unknown => {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            semanticVersion: tool.version,
            informationUri: tool.informationUri,
            rules: rules.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.shortDescription },
              fullDescription: { text: r.fullDescription },
              help: { text: r.help },
              defaultConfiguration: { level: r.level },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.ruleId,
          ...(index.has(f.ruleId) ? { ruleIndex: index.get(f.ruleId) } : {}),
          level: f.level,
          message: { text: f.message },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: f.resourceArn } },
              logicalLocations: [{ name: f.resourceName, fullyQualifiedName: f.resourceArn, kind: 'resource' }],
            },
          ],
          partialFingerprints: { 'resourceFinding/v1': createHash('sha256').update(`${f.ruleId}\n${f.resourceArn}`).digest('hex') },
          ...(f.properties !== undefined ? { properties: f.properties } : {}),
        })),
        properties,
      },
    ],
  };
};
