import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/testing/demo.js';

// The whole lifecycle over HTTP: 23 s of the default 30 s on a loaded 2-core machine (two CPU hogs).
describe('runDemo', { timeout: 120_000 }, () => {
  it('runs the lifecycle on the local emulator and prints each step', async () => {
    const lines: string[] = [];

    await runDemo({ out: (line) => lines.push(line) });

    const text = lines.join('\n');
    const keyArn = /alias\/demo-app → (arn:aws:kms:us-east-1:\d{12}:key\/[0-9a-f-]{36})/.exec(text)?.[1];
    expect(keyArn).toBeDefined();
    // Seeded, preflighted, created with the canonical ARN and two grants.
    expect(text).toMatch(/6 images: multi-arch OCI index .* \d+\.\d MiB of layers/);
    expect(text).toContain('→ ok: ready to create');
    expect(text).toContain(`created: true, KMS with ${keyArn ?? '?'} (the canonical ARN, not the alias)`);
    expect(lines.filter((l) => /^ {3}grant \S+ for ECR: /.test(l))).toHaveLength(2);
    expect(text).toContain('3 of 3 stored objects encrypted with data keys of that key');
    // Bad input refused with no AWS call.
    expect(text).toMatch(/"Team\/App" → InvalidRepositoryName: .*; AWS calls made: 0/);
    // The seeded repository migrated in place: same digests, every object under the customer key.
    expect(text).toContain('Migrate legacy/app to KMS');
    expect(text).toMatch(/AES256 → KMS: 6 images, 3 tags, \d+ blobs \(\d+\.\d MiB\) copied to staging, verified/);
    expect(text).toMatch(/digests identical: true; (\d+) of \1 stored objects now under alias\/demo-app; staging deleted/);
    // Grants left behind, found, and retired; then a verified delete.
    expect(text).toContain('DeletedButGrantsRemain: team/app is deleted, 2 grants remain on the key (missing kms:RetireGrant)');
    // legacy/app, now KMS, holds the other two grants: live, so never called orphans.
    expect(text).toContain('dry run: 4 ECR grants, 2 orphans (repository-deleted), retired 0');
    expect(text).toMatch(/retire: {2}retired 2 \(.*\), failed 0/);
    expect(text).toContain('deleted: verified: true (ECR retired 2, retired here 0; ListGrants shows none)');
    // The report: only the migrated repository's two grants are left on the key.
    expect(text).toContain('live grants on alias/demo-app: 2 (legacy/app)');
    expect(text).toContain('repositories: legacy/app (KMS, 6 images)');
  });
});
