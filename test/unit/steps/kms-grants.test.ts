/**
 * Listing a key's grants while other operations retire grants of the same key: KMS's marker names
 * a grant, and a marker whose grant was retired between two pages is refused
 * (`InvalidMarkerException`). A fleet migration shares one target key between many repositories,
 * so one repository's listing meets another's retirement; the listing starts over instead of
 * failing the migration.
 */
import { InvalidMarkerException, KMSClient, ListGrantsCommand, type GrantListEntry } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RegistryContext } from '../../../src/internal/context.js';
import { listAllGrants } from '../../../src/steps/kms-grants.js';

const kms = mockClient(KMSClient);
const ctx = {
  kms: new KMSClient({ region: 'eu-west-1' }),
  logger: { debug: () => undefined, info: () => undefined, warn: () => undefined },
} as unknown as RegistryContext;
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/k';
const grant = (id: string): GrantListEntry => ({ KeyId: KEY, GrantId: id });
const markerRefused = (): InvalidMarkerException => new InvalidMarkerException({ message: 'The marker is not valid.', $metadata: { httpStatusCode: 400 } });

beforeEach(() => {
  kms.reset();
});

describe('listAllGrants when a grant is retired between two pages', () => {
  it('starts the listing over when KMS refuses the marker of its own previous page, and answers the fresh listing', async () => {
    // g2 ended page 1 (its marker); it is retired before page 2 is asked for.
    kms
      .on(ListGrantsCommand, { Marker: undefined })
      .resolvesOnce({ Grants: [grant('g1'), grant('g2')], Truncated: true, NextMarker: 'after-g2' })
      .resolvesOnce({ Grants: [grant('g1'), grant('g3')], Truncated: true, NextMarker: 'after-g3' });
    kms.on(ListGrantsCommand, { Marker: 'after-g2' }).rejects(markerRefused());
    kms.on(ListGrantsCommand, { Marker: 'after-g3' }).resolves({ Grants: [grant('g4')], Truncated: false });

    const result = await listAllGrants(ctx, KEY);

    expect(result._unsafeUnwrap().map((g) => g.GrantId)).toEqual(['g1', 'g3', 'g4']);
    expect(kms.commandCalls(ListGrantsCommand).map((c) => c.args[0].input.Marker)).toEqual([undefined, 'after-g2', undefined, 'after-g3']);
  });

  it('a refusal of the first page (no marker of ours) is not retried', async () => {
    kms.on(ListGrantsCommand).rejects(markerRefused());

    const result = await listAllGrants(ctx, KEY);

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AwsServiceError', name: 'InvalidMarkerException' });
    expect(kms.commandCalls(ListGrantsCommand)).toHaveLength(1);
  });

  it('gives up after three listings whose markers are all refused, with the error', async () => {
    kms.on(ListGrantsCommand, { Marker: undefined }).resolves({ Grants: [grant('g1')], Truncated: true, NextMarker: 'after-g1' });
    kms.on(ListGrantsCommand, { Marker: 'after-g1' }).rejects(markerRefused());

    const result = await listAllGrants(ctx, KEY);

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AwsServiceError', name: 'InvalidMarkerException' });
    expect(kms.commandCalls(ListGrantsCommand)).toHaveLength(6);
  });
});
