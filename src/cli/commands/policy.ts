/** `policy generate <identity|key|endpoint>` and `policy check`: thin over the policy toolkit. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Result } from 'neverthrow';
import type {
  AccessExplanation,
  ContextValue,
  GeneratedPolicy,
  InvalidInput,
  PolicyDocument,
  PolicySet,
  RepositoryOperation,
  RequestPrincipal,
} from '../../index.js';
import { fail, isFailure, show, startRun, withOutputOption } from '../context.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { type Library, loadLibrary } from '../library.js';
import { type CliFailure, type CliIo, outputFormat, renderFields, renderTable, reportError, toJson } from '../output.js';

const collect = (value: string, previous: readonly string[] | undefined): string[] => [...(previous ?? []), value];
const collectList = (value: string, previous: readonly string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(',').map((v) => v.trim()).filter((v) => v !== ''),
];

interface OutputOptions {
  readonly output?: string;
  readonly region?: string;
}

/** `--region`, else `AWS_REGION`/`AWS_DEFAULT_REGION`: the policy's region is data here, no AWS call is made. */
const regionOf = (io: CliIo, options: OutputOptions): string | CliFailure =>
  options.region ??
  (io.env.AWS_REGION || undefined) ??
  (io.env.AWS_DEFAULT_REGION || undefined) ?? { kind: 'UsageError', message: 'no region: pass --region (or set AWS_REGION)' };

/** Prints a generated policy (JSON in both formats: a policy is a JSON document), or its InvalidInput. */
const emit = async (
  io: CliIo,
  options: OutputOptions,
  make: (region: string, library: Library) => Result<GeneratedPolicy, InvalidInput>,
): Promise<number> => {
  const run = startRun(io, options);
  if (isFailure(run)) return fail({ io, format: outputFormat(undefined, io) }, run);
  const region = regionOf(io, options);
  if (isFailure(region)) return fail(run, region);
  const policy = make(region, await loadLibrary());
  if (policy.isErr()) {
    reportError(io, run.format, policy.error);
    return exitCodeFor(policy.error);
  }
  return (await show(run, policy.value, toJson)) ?? EXIT.ok;
};

const readPolicy = (file: string, flag: string): PolicyDocument | CliFailure => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { kind: 'UsageError', message: `${flag}: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed)) {
      return { kind: 'UsageError', message: `${flag}: ${file} is not a policy document (no Statement)` };
    }
    return parsed as PolicyDocument;
  } catch (error) {
    return { kind: 'UsageError', message: `${flag}: ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
};

const ACCOUNT_IN_ARN = /^arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/;
const ASSUMED_ROLE = /^arn:([a-z0-9-]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/;

/** The request's principal from `--principal` (an IAM or STS ARN, or a service principal), default the resource account's root. */
const principalOf = (given: string | undefined, resource: string, orgId: string | undefined): RequestPrincipal | CliFailure => {
  const resourceAccount = ACCOUNT_IN_ARN.exec(resource)?.[1];
  const arn = given ?? (resourceAccount !== undefined ? `arn:aws:iam::${resourceAccount}:root` : undefined);
  if (arn === undefined) return { kind: 'UsageError', message: '--principal is needed when the resource names no account' };
  const account = ACCOUNT_IN_ARN.exec(arn)?.[1] ?? resourceAccount;
  if (account === undefined) return { kind: 'UsageError', message: `--principal: cannot tell the account of "${arn}"` };
  const session = ASSUMED_ROLE.exec(arn);
  return {
    arn,
    account,
    ...(session ? { roleArn: `arn:${session[1] ?? 'aws'}:iam::${session[2] ?? account}:role/${session[3] ?? ''}` } : {}),
    ...(orgId !== undefined ? { orgId } : {}),
  };
};

/** `--context key=value` (repeatable; a key given twice is multi-valued; `true`/`false` are booleans). */
const contextOf = (pairs: readonly string[]): Record<string, ContextValue> | CliFailure => {
  const context: Record<string, ContextValue> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) return { kind: 'UsageError', message: `--context must be key=value, not "${pair}"` };
    const key = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    const previous = context[key];
    if (previous === undefined) context[key] = raw === 'true' ? true : raw === 'false' ? false : raw;
    else context[key] = [...(Array.isArray(previous) ? (previous as readonly string[]) : [String(previous)]), raw];
  }
  return context;
};

interface CheckOptions extends OutputOptions {
  readonly action: string;
  readonly resource: string;
  readonly principal?: string;
  readonly principalOrgId?: string;
  readonly context?: readonly string[];
  readonly policyFile?: readonly string[];
  readonly boundaryFile?: string;
  readonly keyPolicyFile?: string;
  readonly repositoryPolicyFile?: string;
  readonly endpointPolicyFile?: string;
}

const checkTable = (e: AccessExplanation): string =>
  [
    renderFields([
      ['decision', e.decision],
      ['reason', e.reason],
    ]),
    ...(e.statements.length > 0
      ? ['', renderTable(['SOURCE', 'POLICY', 'STATEMENT', 'SID', 'EFFECT'], e.statements.map((s) => [s.source, String(s.policyIndex), String(s.statementIndex), s.sid ?? '', s.effect]))]
      : []),
    // Where the decision rests on a choice AWS's documentation does not make (docs/aws-behaviour.md).
    ...(e.assumptions.length > 0 ? ['', renderTable(['ASSUMPTION', 'DETAIL'], e.assumptions.map((a) => [a.id, a.detail]))] : []),
  ].join('\n');

/** allowed → 0; denied → 5; a policy AWS would refuse → 2 (bad input). */
const checkExit = (e: AccessExplanation): number =>
  e.decision === 'allowed' ? EXIT.ok : e.decision === 'invalidPolicy' ? EXIT.usage : EXIT.permissions;

const check = async (io: CliIo, options: CheckOptions): Promise<number> => {
  const run = startRun(io, options);
  if (isFailure(run)) return fail({ io, format: outputFormat(undefined, io) }, run);
  const principal = principalOf(options.principal, options.resource, options.principalOrgId);
  if (isFailure(principal)) return fail(run, principal);
  const context = contextOf(options.context ?? []);
  if (isFailure(context)) return fail(run, context);
  const identity: PolicyDocument[] = [];
  for (const file of options.policyFile ?? []) {
    const policy = readPolicy(file, '--policy-file');
    if (isFailure(policy)) return fail(run, policy);
    identity.push(policy);
  }
  const single: ['permissionsBoundary' | 'keyPolicy' | 'repositoryPolicy' | 'endpointPolicy', string | undefined, string][] = [
    ['permissionsBoundary', options.boundaryFile, '--boundary-file'],
    ['keyPolicy', options.keyPolicyFile, '--key-policy-file'],
    ['repositoryPolicy', options.repositoryPolicyFile, '--repository-policy-file'],
    ['endpointPolicy', options.endpointPolicyFile, '--endpoint-policy-file'],
  ];
  const policies: { -readonly [K in keyof PolicySet]: PolicySet[K] } = identity.length > 0 ? { identityPolicies: identity } : {};
  for (const [field, file, flag] of single) {
    if (file === undefined) continue;
    const policy = readPolicy(file, flag);
    if (isFailure(policy)) return fail(run, policy);
    policies[field] = policy;
  }
  if (Object.keys(policies).length === 0) {
    return fail(run, { kind: 'UsageError', message: 'give at least one policy: --policy-file, --key-policy-file, --repository-policy-file, --endpoint-policy-file' });
  }
  const { explainAccess } = await loadLibrary();
  const explanation = explainAccess(
    { principal, action: options.action, resource: options.resource, ...(Object.keys(context).length > 0 ? { context } : {}) },
    policies,
  );
  return (await show(run, explanation, checkTable)) ?? checkExit(explanation);
};

/** Registers `policy generate identity|key|endpoint` and `policy check`. */
export const registerPolicyCommands = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  const policy = program.command('policy').description('generate the IAM, key and VPC endpoint policies ECR encryption needs; explain a request locally');
  const generate = policy.command('generate').description('print a policy document (JSON)');

  withOutputOption(
    generate
      .command('identity')
      .description('least-privilege identity policy to create, delete and migrate encrypted repositories')
      .requiredOption('--account <id>', "the registry's 12-digit account id")
      .option('--region <region>', 'the repositories\' region (default: AWS_REGION)')
      .option('--repositories <names>', 'repository names (comma-separated, repeatable)', collectList)
      .option('--prefix <prefix>', 'every repository whose name starts with this')
      .requiredOption('--key-arn <arn>', 'a KMS key ARN the repositories use (repeatable)', collect)
      .option('--operations <ops>', 'create, delete, migrate (comma-separated)', collectList)
      .option('--no-preflight', "leave out what the library's preflight calls")
      .option('--no-rollback', 'leave out ecr:DeleteRepository for create rollbacks'),
  ).action(
    async (options: OutputOptions & {
      account: string;
      repositories?: string[];
      prefix?: string;
      keyArn: string[];
      operations?: string[];
      preflight: boolean;
      rollback: boolean;
    }) => {
      if ((options.repositories === undefined) === (options.prefix === undefined)) {
        setExit(fail({ io, format: startFormat(io, options) }, { kind: 'UsageError', message: 'give either --repositories or --prefix' }));
        return;
      }
      setExit(
        await emit(io, options, (region, { generateRepositoryAdminPolicy }) =>
          generateRepositoryAdminPolicy({
            region,
            account: options.account,
            repositories: options.prefix !== undefined ? { prefix: options.prefix } : { names: options.repositories ?? [] },
            keyArns: options.keyArn,
            operations: (options.operations ?? ['create', 'delete']).map((o) => o.toLowerCase()) as RepositoryOperation[],
            preflight: options.preflight,
            rollback: options.rollback,
          }),
        ),
      );
    },
  );

  withOutputOption(
    generate
      .command('key')
      .description('key-policy statements that let principals use a customer key only through ECR')
      .requiredOption('--account <id>', "the key's 12-digit account id")
      .option('--region <region>', "the key's region (default: AWS_REGION)")
      .option('--principal <arn>', 'an IAM user or role that may use the key through ECR (repeatable; default: the account)', collect)
      .option('--enable-iam-policies', 'add the "Enable IAM User Permissions" statement')
      .option('--no-verification', "leave out direct DescribeKey/GetKeyPolicy/ListGrants for the principals"),
  ).action(async (options: OutputOptions & { account: string; principal?: string[]; enableIamPolicies?: boolean; verification: boolean }) => {
    setExit(
      await emit(io, options, (region, { generateEcrKeyPolicy }) =>
        generateEcrKeyPolicy({
          region,
          account: options.account,
          ...(options.principal !== undefined ? { principals: options.principal } : {}),
          enableIamPolicies: options.enableIamPolicies === true,
          allowVerification: options.verification,
        }),
      ),
    );
  });

  withOutputOption(
    generate
      .command('endpoint')
      .description('VPC endpoint policy for ecr.api, ecr.dkr or s3')
      .requiredOption('--service <service>', 'ecr.api, ecr.dkr or s3')
      .option('--region <region>', "the endpoint's region (default: AWS_REGION)")
      .option('--registry-account <id>', "only this account's registries (repeatable)", collect)
      .option('--organization-id <id>', 'only principals of this organization (aws:PrincipalOrgID)')
      .option('--protected-repository <arn>', 'a repository nobody may delete through the endpoint (repeatable)', collect),
  ).action(
    async (options: OutputOptions & { service: string; registryAccount?: string[]; organizationId?: string; protectedRepository?: string[] }) => {
      const service = options.service.toLowerCase();
      if (service !== 'ecr.api' && service !== 'ecr.dkr' && service !== 's3') {
        setExit(fail({ io, format: startFormat(io, options) }, { kind: 'UsageError', message: `--service must be ecr.api, ecr.dkr or s3, not "${options.service}"` }));
        return;
      }
      setExit(
        await emit(io, options, (region, { generateEndpointPolicy }) =>
          service === 's3'
            ? generateEndpointPolicy({ service, region })
            : generateEndpointPolicy({
                service,
                region,
                ...(options.registryAccount !== undefined ? { registryAccounts: options.registryAccount } : {}),
                ...(options.organizationId !== undefined ? { organizationId: options.organizationId } : {}),
                ...(options.protectedRepository !== undefined ? { protectedRepositoryArns: options.protectedRepository } : {}),
              }),
        ),
      );
    },
  );

  withOutputOption(
    policy
      .command('check')
      .description('explain whether a request would be allowed, and which statements decided (exit 0 allowed, 5 denied)')
      .requiredOption('--action <action>', 'e.g. kms:CreateGrant')
      .requiredOption('--resource <arn>', 'the resource ARN (* for actions without one)')
      .option('--principal <arn>', 'who asks: an IAM user/role ARN, an assumed-role ARN, or a service principal (default: the resource account root)')
      .option('--principal-org-id <id>', "the principal's organization (aws:PrincipalOrgID)")
      .option('--context <key=value>', 'a request context key, e.g. kms:ViaService=ecr.eu-west-1.amazonaws.com (repeatable)', collect)
      .option('--policy-file <file>', 'an identity policy of the principal (repeatable)', collect)
      .option('--boundary-file <file>', 'a permissions boundary')
      .option('--key-policy-file <file>', 'the KMS key policy')
      .option('--repository-policy-file <file>', 'the ECR repository policy')
      .option('--endpoint-policy-file <file>', 'the VPC endpoint policy'),
  ).action(async (options: CheckOptions) => {
    setExit(await check(io, options));
  });
};

const startFormat = (io: CliIo, options: OutputOptions): 'json' | 'table' => {
  const run = startRun(io, options);
  return isFailure(run) ? 'json' : run.format;
};
