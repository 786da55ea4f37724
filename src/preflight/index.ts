/**
 * `preflight`: every check `createEncryptedRepository` makes, without creating anything. Each check
 * that fails becomes a {@link Finding} carrying the typed error it would make `create` return, so a
 * caller sees every problem at once instead of one per attempt.
 *
 * The only module of `src/preflight/` that other layers import. The checks live beside it: input
 * (`input.ts`, `region.ts`), key (`key.ts`), caller (`caller.ts`), key policy (`key-policy.ts`),
 * permissions (`permissions.ts`, `ecr-context.ts`), an existing repository (`repository.ts`).
 */
import type { Repository } from '@aws-sdk/client-ecr';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { existingOf } from '../encryption/compare.js';
import type { EncryptionMismatch, PreflightError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { findRepository } from '../steps/ecr-repository.js';
import { checkCaller } from './caller.js';
import { errorFinding, hasError, isBlocking } from './finding.js';
import { checkInput } from './input.js';
import { checkKey, type KeyOutcome } from './key.js';
import { checkKeyReferenceRegion, partitionOfRegion } from './region.js';
import { simulate, simulationBatches } from './permissions.js';
import { compareExisting, requestedEncryption } from './repository.js';
import type {
  BlockingFinding,
  EstablishedTarget,
  Finding,
  PreflightFacts,
  PreflightFindingError,
  PreflightInput,
  PreflightReadyFacts,
  PreflightReport,
} from './types.js';

export type * from './types.js';
export { checkCaller, type CallerOutcome } from './caller.js';
export { repositoryPolicyText } from './input.js';
export { parseKeyPolicy } from './key-policy.js';
export { partitionOfRegion } from './region.js';
export { simulate, simulationBatches, type SimulationBatch } from './permissions.js';
export { checkKey, type ResolvedKey } from './key.js';
export { checkTemplateRole, parseRoleArn } from './template-role.js';
export { isBlocking } from './finding.js';

/** @internal How far the preflight goes. `create` stops before any AWS call when the input is wrong. */
export interface PreflightOptions {
  readonly stopOnInputErrors?: boolean;
  /**
   * The repository as the caller described it moments ago (a migration reads it first): not
   * described again. `null`: it does not exist.
   */
  readonly repository?: Repository | null;
  /**
   * The target an earlier preflight of the same key established in this run (a migration's, before
   * its first change): the input is checked again, but key, caller and permissions make no call.
   * What could change since is verified by the creation itself (ECR's own DescribeKey and
   * CreateGrant, then the encryption it echoes).
   */
  readonly established?: EstablishedTarget;
}

/** What a preflight for a repository's replacement can block on: the repository having other encryption is the point. */
export type ReplacementFindingError = Exclude<PreflightFindingError, EncryptionMismatch>;

/** Every finding, the facts resolved on the way, and all of them when nothing stood in the way. */
interface Checked {
  readonly findings: readonly Finding[];
  readonly facts: PreflightFacts;
  /** The facts a creation needs, when every check that resolves them could. */
  readonly ready: PreflightReadyFacts | undefined;
}

/**
 * The report of the checks. Every check that leaves a fact of {@link PreflightReadyFacts}
 * unresolved reports a blocking finding (checked by the tests of each check), so a report with no
 * blocking finding has them all; `isBlockingHere` admits every blocking finding the checks made.
 */
const reportOf = <E extends PreflightFindingError>(
  checked: Checked,
  isBlockingHere: (finding: Finding) => finding is BlockingFinding<E>,
): PreflightReport<E> => {
  const { findings, facts, ready } = checked;
  const [first, ...rest] = findings.filter(isBlockingHere);
  if (first !== undefined) return { ok: false, findings, facts, blocking: [first, ...rest] };
  if (ready === undefined || hasError(findings)) {
    // Only bugs throw: a check left a fact unresolved without saying why.
    throw new Error(`bug: the preflight reported no blocking finding but resolved only ${Object.keys(facts).join(', ')}`);
  }
  return { ok: true, findings, facts: ready };
};

/** The checks, with the repository's encryption compared with the requested one unless `replacing`. */
const runChecks = (
  ctx: RegistryContext,
  input: PreflightInput,
  options: PreflightOptions,
  replacing: boolean,
): ResultAsync<Checked, PreflightError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const checked = checkInput(input);
  // Wrong input is reported even when no region is configured.
  if (options.stopOnInputErrors && hasError(checked.findings)) return okAsync({ findings: checked.findings, facts: {}, ready: undefined });
  return ctx.region().andThen((region): ResultAsync<Checked, never> => {
    const regionFindings = checkKeyReferenceRegion(checked.encryption, region);
    const findings = [...checked.findings, ...regionFindings];
    const facts: { -readonly [K in keyof PreflightFacts]: PreflightFacts[K] } = { region };
    if (options.stopOnInputErrors && hasError(findings)) return okAsync({ findings, facts, ready: undefined });

    const { encryption, repositoryName } = checked;
    const established = options.established;
    if (established !== undefined && established.region === region && repositoryName !== undefined) {
      return okAsync(establishedChecks(findings, { ...facts, region }, established, repositoryName));
    }
    // One GetCallerIdentity, shared: a key id that cannot be described resolves in the caller's account.
    const callerCheck = checkCaller(ctx);
    const keyCheck =
      encryption !== undefined && encryption.type !== 'AES256' && regionFindings.length === 0
        ? checkKey(ctx, encryption, region, callerCheck)
        : okAsync<KeyOutcome, never>({ findings: [] });
    const repositoryCheck =
      options.repository !== undefined
        ? okAsync({ repository: options.repository ?? undefined, findings: [] as Finding[] })
        : repositoryName !== undefined
        ? findRepository(ctx, repositoryName)
            .map((repository) => ({ repository, findings: [] as Finding[] }))
            .orElse((error) =>
              okAsync<{ repository: Repository | undefined; findings: Finding[] }, never>({
                repository: undefined,
                findings: [errorFinding('repository', `cannot tell whether ${repositoryName} exists: ${error.kind}`, error)],
              }),
            )
        : okAsync({ repository: undefined, findings: [] as Finding[] });

    return ResultAsync.combine([keyCheck, callerCheck, repositoryCheck] as const).andThen(([key, caller, repo]) => {
      if (key.key) {
        facts.keyArn = key.key.arn;
        if (key.key.described !== false) facts.keyManager = key.key.manager;
      }
      const target = encryption === undefined ? undefined : requestedEncryption(encryption, key.key);
      if (target !== undefined) facts.encryption = target;
      if (key.grantCount !== undefined) facts.grantCount = key.grantCount;
      if (key.ecrGrantCount !== undefined) facts.ecrGrantCount = key.ecrGrantCount;
      if (key.awsManagedKeyCreated !== undefined) facts.awsManagedKeyCreated = key.awsManagedKeyCreated;
      if (caller.account !== undefined) facts.account = caller.account;
      if (caller.callerArn !== undefined) facts.callerArn = caller.callerArn;
      if (caller.roleArn !== undefined) facts.roleArn = caller.roleArn;
      const repositoryArn =
        repo.repository?.repositoryArn ??
        (repositoryName !== undefined && caller.account !== undefined
          ? `arn:${caller.partition ?? 'aws'}:ecr:${region}:${caller.account}:repository/${repositoryName}`
          : undefined);
      if (repositoryArn !== undefined) facts.repositoryArn = repositoryArn;

      const repositoryFindings = [...repo.findings];
      if (repo.repository !== undefined && repositoryName !== undefined) {
        facts.existingRepository = existingOf(repo.repository, repositoryName);
        if (encryption !== undefined) {
          const compared = compareExisting(repositoryName, facts.existingRepository.encryption, encryption, key.key);
          // Replacing it, the repository's other encryption is the point, and the same one is for the caller to judge.
          if (!replacing || compared.severity === 'warning') repositoryFindings.push(compared);
        }
      }

      const simulation =
        caller.principalArn !== undefined && caller.account !== undefined && repositoryArn !== undefined
          ? simulate(
              ctx,
              { principalArn: caller.principalArn, callerArn: caller.callerArn ?? caller.principalArn, account: caller.account },
              simulationBatches(input, region, caller.account, repositoryArn, encryption, key.key),
              key.key?.arn,
            )
          : okAsync<Finding[], never>([]);
      return simulation.map((permissionFindings): Checked => {
        const all = [...findings, ...key.findings, ...caller.findings, ...permissionFindings, ...repositoryFindings];
        const ready =
          target !== undefined && caller.account !== undefined && caller.callerArn !== undefined && repositoryArn !== undefined
            ? { ...facts, region, account: caller.account, callerArn: caller.callerArn, repositoryArn, encryption: target }
            : undefined;
        return { findings: all, facts, ready };
      });
    });
  });
};

/** The checks of a target established earlier: only the input's, and the facts as established. */
const establishedChecks = (
  findings: readonly Finding[],
  facts: PreflightFacts & { readonly region: string },
  established: EstablishedTarget,
  repositoryName: string,
): Checked => {
  const { region, account, callerArn, encryption } = established;
  const repositoryArn = `arn:${partitionOfRegion(region) ?? 'aws'}:ecr:${region}:${account}:repository/${repositoryName}`;
  const ready: PreflightReadyFacts = {
    ...facts,
    region,
    account,
    callerArn,
    repositoryArn,
    encryption,
    ...(encryption.keyArn !== undefined ? { keyArn: encryption.keyArn } : {}),
    ...(encryption.awsManagedKey !== undefined ? { keyManager: encryption.awsManagedKey ? ('AWS' as const) : ('CUSTOMER' as const) } : {}),
  };
  return { findings, facts: ready, ready };
};

/**
 * Runs every check of `createEncryptedRepository` and reports all findings at once. Fails only
 * when it cannot run at all (an unsafe endpoint, no region).
 *
 * @internal Use {@link EncryptedRegistry.preflight}.
 */
export const preflight = (
  ctx: RegistryContext,
  input: PreflightInput,
  options: PreflightOptions = {},
): ResultAsync<PreflightReport, PreflightError> => runChecks(ctx, input, options, false).map((checked) => reportOf(checked, isBlocking));

const isReplacementBlocking = (finding: Finding): finding is BlockingFinding<ReplacementFindingError> =>
  isBlocking(finding) && finding.error.kind !== 'EncryptionMismatch';

/**
 * The preflight of a repository's replacement under the same name (a migration): every check of a
 * creation, except that the existing repository's encryption is not compared (having another
 * encryption is the point of replacing it); a repository of the same encryption is for the caller
 * to notice.
 *
 * @internal Used by the migration.
 */
export const preflightReplacement = (
  ctx: RegistryContext,
  input: PreflightInput,
  options: Pick<PreflightOptions, 'repository'> = {},
): ResultAsync<PreflightReport<ReplacementFindingError>, PreflightError> =>
  runChecks(ctx, input, options, true).map((checked) => reportOf(checked, isReplacementBlocking));
