/**
 * Which repository creation template ECR applies to a repository it creates on your behalf.
 *
 * AWS (model documentation of `prefix`, botocore ecr service-2.json): "a prefix of prod would apply
 * to all repositories beginning with prod/"; "There is always an assumed / applied to the end of
 * the prefix"; "To apply a template to all repositories in your registry that don't have an
 * associated creation template, you can use ROOT". So `ROOT` applies only when no other template
 * does, and of several prefixes that cover a name the most specific (longest) is taken: AWS does
 * not say how two covering prefixes are ordered, and the longest is the only reading under which
 * `prod/team` would ever apply beside `prod` (assumed).
 */

/** Why ECR creates a repository: a template's `appliedFor` values. */
export type TemplateScenario = 'CREATE_ON_PUSH' | 'PULL_THROUGH_CACHE' | 'REPLICATION';

export const TEMPLATE_SCENARIOS: readonly TemplateScenario[] = ['CREATE_ON_PUSH', 'PULL_THROUGH_CACHE', 'REPLICATION'];

/** The model's `Prefix` pattern (1–256 characters). */
export const TEMPLATE_PREFIX = /^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$/;

const namespaceOf = (prefix: string): string => prefix.replace(/\/$/, '');

/**
 * Whether repositories under `inner` (a prefix, or a repository name) lie under `prefix`:
 * `ROOT` covers everything; `prod` covers `prod/x` and the prefix `prod/team`, not `production/x`.
 */
const prefixCovers = (prefix: string, inner: string): boolean =>
  prefix === 'ROOT' || (inner !== 'ROOT' && (namespaceOf(inner) === namespaceOf(prefix) || inner.startsWith(`${namespaceOf(prefix)}/`)));

/** A template as far as matching goes. */
export interface TemplateLike {
  readonly prefix?: string | undefined;
  readonly appliedFor?: readonly string[] | undefined;
}

/**
 * The template ECR applies when it creates repositories under `inner` (a repository name or a
 * prefix such as a pull-through cache rule's) for `scenario`: the most specific covering prefix
 * among the templates for that scenario, else the `ROOT` one, else none (ECR's defaults: AES256).
 */
export const templateFor = <T extends TemplateLike>(templates: readonly T[], inner: string, scenario: TemplateScenario): T | undefined => {
  const candidates = templates.filter((t) => t.prefix !== undefined && (t.appliedFor ?? []).includes(scenario) && prefixCovers(t.prefix, inner));
  const specific = candidates
    .filter((t) => t.prefix !== 'ROOT')
    .sort((a, b) => namespaceOf(b.prefix ?? '').length - namespaceOf(a.prefix ?? '').length)[0];
  return specific ?? candidates.find((t) => t.prefix === 'ROOT');
};
