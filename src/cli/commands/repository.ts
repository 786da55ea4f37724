/** `preflight`, `create` and `delete`: thin over the library's operations of the same names. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type {
  CreatedRepository,
  CreateEncryptedRepositoryInput,
  DeletedRepository,
  EncryptionSpec,
  ImageTagMutability,
  PreflightReport,
  RepositoryTag,
} from '../../index.js';
import { type AwsOptions, fail, finish, isFailure, withAwsOptions, withGrantWait, withRegistry } from '../context.js';
import { blockingExitCode, EXIT } from '../exit-codes.js';
import type { CliFailure, CliIo } from '../output.js';
import { renderFields, renderTable } from '../output.js';
import { confirm } from '../terminal.js';

interface CreateOptions extends AwsOptions {
  readonly kmsKey?: string;
  readonly encryption?: string;
  readonly tag?: readonly string[];
  readonly imageTagMutability?: string;
  readonly exclusionFilter?: readonly string[];
  readonly scanOnPush?: boolean;
  readonly repositoryPolicyFile?: string;
  readonly lifecyclePolicyFile?: string;
}

const collect = (value: string, previous: readonly string[] | undefined): string[] => [...(previous ?? []), value];

const withCreateOptions = (command: Command): Command =>
  withAwsOptions(
    command
      .argument('<repository>', 'repository name, e.g. team/app')
      .option('--kms-key <key>', 'KMS key: key id, key ARN, alias name (alias/app) or alias ARN')
      .option('--encryption <type>', 'AES256, KMS or KMS_DSSE, any case (default KMS with --kms-key; required without it)')
      .option('--tag <key=value>', 'a resource tag (repeatable)', collect)
      .option('--image-tag-mutability <mode>', 'MUTABLE, IMMUTABLE, MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION (any case)')
      .option('--exclusion-filter <filter>', 'a tag filter for *_WITH_EXCLUSION (repeatable)', collect)
      .option('--scan-on-push', 'basic scanning on push')
      .option('--repository-policy-file <file>', 'repository policy (JSON file)')
      .option('--lifecycle-policy-file <file>', 'lifecycle policy (JSON file)'),
  );

const withCreateAndWaitOptions = (command: Command): Command => withGrantWait(withCreateOptions(command));

const readText = (file: string, flag: string): string | CliFailure => {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    return { kind: 'UsageError', message: `${flag}: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}` };
  }
};

/** `--kms-key` and `--encryption` as an {@link EncryptionSpec}: the encryption is always explicit. */
export const encryptionFromFlags = (options: { readonly kmsKey?: string; readonly encryption?: string }): EncryptionSpec | CliFailure => {
  const type = options.encryption?.toUpperCase() ?? (options.kmsKey !== undefined ? 'KMS' : undefined);
  if (type === undefined) return { kind: 'UsageError', message: 'choose the encryption: --kms-key <key>, or --encryption AES256|KMS|KMS_DSSE' };
  if (type !== 'AES256' && type !== 'KMS' && type !== 'KMS_DSSE') {
    return { kind: 'UsageError', message: `--encryption must be AES256, KMS or KMS_DSSE, not "${options.encryption ?? ''}"` };
  }
  if (type === 'AES256' && options.kmsKey !== undefined) return { kind: 'UsageError', message: '--kms-key does not go with --encryption AES256' };
  return type === 'AES256' ? 'AES256' : options.kmsKey !== undefined ? { type, key: options.kmsKey } : { type };
};

/** The library input from the flags; only malformed flags fail here, the library checks the rest. */
const createInput = (name: string, options: CreateOptions): CreateEncryptedRepositoryInput | CliFailure => {
  const encryption = encryptionFromFlags(options);
  if (isFailure(encryption)) return encryption;
  const tags: RepositoryTag[] = [];
  for (const tag of options.tag ?? []) {
    const at = tag.indexOf('=');
    if (at < 1) return { kind: 'UsageError', message: `--tag must be key=value, not "${tag}"` };
    tags.push({ Key: tag.slice(0, at), Value: tag.slice(at + 1) });
  }
  const repositoryPolicy = options.repositoryPolicyFile === undefined ? undefined : readText(options.repositoryPolicyFile, '--repository-policy-file');
  if (isFailure(repositoryPolicy)) return repositoryPolicy;
  const lifecyclePolicy = options.lifecyclePolicyFile === undefined ? undefined : readText(options.lifecyclePolicyFile, '--lifecycle-policy-file');
  if (isFailure(lifecyclePolicy)) return lifecyclePolicy;
  return {
    repositoryName: name,
    encryption,
    ...(tags.length > 0 ? { tags } : {}),
    ...(options.imageTagMutability !== undefined ? { imageTagMutability: options.imageTagMutability.toUpperCase() as ImageTagMutability } : {}),
    ...(options.exclusionFilter !== undefined ? { imageTagMutabilityExclusionFilters: options.exclusionFilter } : {}),
    ...(options.scanOnPush === true ? { scanOnPush: true } : {}),
    ...(repositoryPolicy !== undefined ? { repositoryPolicy } : {}),
    ...(lifecyclePolicy !== undefined ? { lifecyclePolicy } : {}),
  };
};

const encryptionText = (e: { readonly type: string; readonly keyArn?: string; readonly awsManagedKey?: boolean }): string =>
  e.keyArn === undefined ? e.type : `${e.type} ${e.keyArn}${e.awsManagedKey ? ' (aws/ecr)' : ''}`;

const preflightTable = (report: PreflightReport): string => {
  const f = report.facts;
  return [
    renderTable(
      ['SEVERITY', 'CHECK', 'MESSAGE'],
      report.findings.map((x) => [x.severity, x.check, x.message]),
    ),
    '',
    renderFields([
      ['region', f.region],
      ['account', f.account],
      ['caller', f.callerArn],
      ['repository', f.repositoryArn],
      ['key', f.keyArn],
      ['key manager', f.keyManager],
      ['grants on key', f.grantCount],
      ['ready', report.ok ? 'yes: create would go ahead' : 'no: fix the errors first'],
    ]),
  ].join('\n');
};

/** 0 when the preflight finds nothing blocking; otherwise the exit code of the first blocking finding. */
const preflightExit = (report: PreflightReport): number => (report.ok ? EXIT.ok : (blockingExitCode(report.findings) ?? EXIT.unexpected));

const createdTable = (created: CreatedRepository): string =>
  [
    renderFields([
      ['repository', created.repository.name],
      ['status', created.created ? 'created' : 'already there, same encryption: unchanged'],
      ['uri', created.repository.uri],
      ['arn', created.repository.arn],
      ['encryption', encryptionText(created.encryption)],
      ['grants', created.grants.map((g) => g.grantId).join(', ') || undefined],
    ]),
    ...created.warnings.map((w) => `${w.severity}: ${w.check}: ${w.message}`),
  ].join('\n');

const deletedTable = (deleted: DeletedRepository): string =>
  renderFields([
    ['deleted', deleted.repository.name],
    ['arn', deleted.repository.arn],
    ['encryption', encryptionText(deleted.encryption)],
    ['images deleted', deleted.imageCount],
    ['grants retired by ECR', deleted.grantsRetiredByEcr.length],
    ['grants retired here', deleted.grantsRetiredHere.length],
    [
      'verified',
      deleted.encryption.keyArn === undefined
        ? undefined
        : deleted.verified
          ? 'no grant of this repository is left on the key'
          : `NO: ${deleted.grantsUnverifiable.detail}`,
    ],
  ]);

/** Registers `preflight`, `create` and `delete`. */
export const registerRepositoryCommands = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  withCreateOptions(program.command('preflight').description('check everything create would check, create nothing; exit non-zero when create would fail')).action(
    async (name: string, options: CreateOptions) => {
      setExit(
        await withRegistry(io, options, (run, registry) => {
          const input = createInput(name, options);
          if (isFailure(input)) return Promise.resolve(fail(run, input));
          return finish(run, registry.preflight(input), preflightTable, preflightExit);
        }),
      );
    },
  );

  withCreateAndWaitOptions(program.command('create').description('create an encrypted repository after a full preflight (idempotent)')).action(
    async (name: string, options: CreateOptions) => {
      setExit(
        await withRegistry(io, options, (run, registry) => {
          const input = createInput(name, options);
          if (isFailure(input)) return Promise.resolve(fail(run, input));
          return finish(run, registry.createEncryptedRepository(input), createdTable);
        }),
      );
    },
  );

  withGrantWait(withAwsOptions(
    program
      .command('delete')
      .description('delete a repository and verify its KMS grants are retired')
      .argument('<repository>', 'repository name')
      .option('--force', 'delete even if it holds images (they are lost)')
      .option('-y, --yes', 'do not ask for confirmation (required off a terminal)'),
  )).action(async (name: string, options: AwsOptions & { readonly force?: boolean; readonly yes?: boolean }) => {
    setExit(
      await withRegistry(io, options, async (run, registry) => {
        const confirmed = await confirm(io, `Delete repository ${name}${options.force ? ' and every image in it' : ''}?`, options.yes === true);
        if (confirmed !== true) return fail(run, confirmed);
        return finish(run, registry.deleteRepository({ repositoryName: name, force: options.force === true }), deletedTable, (d) => (d.verified ? EXIT.ok : EXIT.partial));
      }),
    );
  });
};
