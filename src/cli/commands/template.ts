/** `template put` and `template list`: repository creation templates, over `ensureCreationTemplate` and `listCreationTemplates`. */
import type { Command } from 'commander';
import type { CreationTemplateDescription, EnsuredCreationTemplate, TemplateScenario } from '../../index.js';
import { type AwsOptions, fail, finish, isFailure, withAwsOptions, withRegistry } from '../context.js';
import type { CliIo } from '../output.js';
import { renderFields, renderTable } from '../output.js';
import { encryptionFromFlags } from './repository.js';

interface PutOptions extends AwsOptions {
  readonly prefix: string;
  readonly appliedFor: readonly string[];
  readonly encryption?: string;
  readonly kmsKey?: string;
  readonly customRoleArn?: string;
  readonly description?: string;
}

const SCENARIOS = ['CREATE_ON_PUSH', 'PULL_THROUGH_CACHE', 'REPLICATION'];

/** `--applied-for` values, repeatable or comma-separated, any case. */
const collectScenarios = (value: string, previous: readonly string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(',').map((v) => v.trim().toUpperCase().replace(/-/g, '_')).filter((v) => v !== ''),
];

const encryptionText = (t: CreationTemplateDescription): string =>
  t.encryption.keyArn !== undefined ? `${t.encryption.type} ${t.encryption.keyArn}` : t.encryption.awsManagedKey ? `${t.encryption.type} (aws/ecr)` : t.encryption.type;

const putTable = (ensured: EnsuredCreationTemplate): string =>
  [
    renderFields([
      ['template', ensured.template.prefix],
      ['status', ensured.action],
      ['applied for', ensured.template.appliedFor.join(', ')],
      ['encryption', encryptionText(ensured.template)],
      ['custom role', ensured.template.customRoleArn],
    ]),
    ...ensured.findings.filter((f) => f.severity === 'warning').map((f) => `warning: ${f.check}: ${f.message}`),
  ].join('\n');

const listTable = (templates: readonly CreationTemplateDescription[]): string =>
  templates.length === 0
    ? 'no repository creation templates: ECR creates repositories on your behalf with AES256'
    : renderTable(
        ['PREFIX', 'APPLIED FOR', 'ENCRYPTION', 'CUSTOM ROLE'],
        templates.map((t) => [t.prefix, t.appliedFor.join(','), encryptionText(t), t.customRoleArn ?? '-']),
      );

/** Registers `template put` and `template list`. */
export const registerTemplateCommands = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  const template = program.command('template').description('repository creation templates: the encryption of repositories ECR creates on your behalf');

  withAwsOptions(
    template
      .command('put')
      .description('create or update a template after the key and custom-role checks of create (idempotent)')
      .requiredOption('--prefix <prefix>', 'ROOT (every repository no other template covers) or a namespace such as team')
      .requiredOption('--applied-for <scenario>', 'CREATE_ON_PUSH, PULL_THROUGH_CACHE or REPLICATION (repeatable or comma-separated)', collectScenarios)
      .option('--encryption <type>', 'AES256, KMS or KMS_DSSE, any case (default KMS with --kms-key)')
      .option('--kms-key <key>', 'KMS key: key id, key ARN, alias name or alias ARN (stored as the key ARN)')
      .option('--custom-role-arn <arn>', 'the role ECR assumes to create repositories and their KMS grants (required with KMS)')
      .option('--description <text>', 'a description (up to 256 characters)'),
  ).action(async (options: PutOptions) => {
    setExit(
      await withRegistry(io, options, (run, registry) => {
        const encryption = encryptionFromFlags(options);
        if (isFailure(encryption)) return Promise.resolve(fail(run, encryption));
        const unknown = options.appliedFor.find((a) => !SCENARIOS.includes(a));
        if (unknown !== undefined) return Promise.resolve(fail(run, { kind: 'UsageError', message: `--applied-for must be one of ${SCENARIOS.join(', ')}, not "${unknown}"` }));
        return finish(
          run,
          registry.ensureCreationTemplate({
            prefix: options.prefix,
            appliedFor: options.appliedFor as TemplateScenario[],
            encryption,
            ...(options.customRoleArn !== undefined ? { customRoleArn: options.customRoleArn } : {}),
            ...(options.description !== undefined ? { description: options.description } : {}),
          }),
          putTable,
        );
      }),
    );
  });

  withAwsOptions(template.command('list').description('list the repository creation templates of the region')).action(async (options: AwsOptions) => {
    setExit(await withRegistry(io, options, (run, registry) => finish(run, registry.listCreationTemplates(), listTable)));
  });
};
