/**
 * boto3 (Debian's python3-boto3) fills a repository through ECR's layer API, as a Python pipeline
 * would; the library migrates it to a customer-managed key; boto3 reads it back. The digest, the
 * manifest bytes and the tags must survive, and boto3 must parse every answer of the emulator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileJournal } from '../../src/index.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { createKey, kmsFor, registryFor } from '../helpers/local-aws.js';
import { available, json, python } from './tools.js';

/** Pushes one image of two layers (the first split in parts of the `partSize` ECR asks for) and prints what it pushed. */
const PUSH = String.raw`
import boto3, hashlib, json, os, sys
ecr = boto3.client('ecr', endpoint_url=os.environ['ENDPOINT'])
name, tag = sys.argv[1], sys.argv[2]
ecr.create_repository(repositoryName=name)
def blob(data):
    digest = 'sha256:' + hashlib.sha256(data).hexdigest()
    up = ecr.initiate_layer_upload(repositoryName=name)
    part = up['partSize']
    first = 0
    while first < len(data):
        chunk = data[first:first + part]
        ecr.upload_layer_part(repositoryName=name, uploadId=up['uploadId'], partFirstByte=first,
                              partLastByte=first + len(chunk) - 1, layerPartBlob=chunk)
        first += len(chunk)
    done = ecr.complete_layer_upload(repositoryName=name, uploadId=up['uploadId'], layerDigests=[digest])
    assert done['layerDigest'] == digest, done
    return {'digest': digest, 'size': len(data), 'partSize': part}
big = blob(os.urandom(5 * 1024 * 1024 + 4096))
small = blob(b'hello from boto3')
config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [big['digest'], small['digest']]}}).encode()
cfg = blob(config)
manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
  'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': cfg['digest'], 'size': cfg['size']},
  'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'digest': b['digest'], 'size': b['size']} for b in (big, small)]}, indent=3)
image = ecr.put_image(repositoryName=name, imageManifest=manifest, imageTag=tag,
                      imageManifestMediaType='application/vnd.oci.image.manifest.v1+json')['image']
print(json.dumps({'digest': image['imageId']['imageDigest'], 'manifest': manifest, 'partSize': big['partSize']}))
`;

/** Reads the image back by tag, its encryption, and a layer through its pre-signed URL. */
const READ = String.raw`
import boto3, hashlib, json, os, sys, urllib.request
ecr = boto3.client('ecr', endpoint_url=os.environ['ENDPOINT'])
name, tag = sys.argv[1], sys.argv[2]
repo = ecr.describe_repositories(repositoryNames=[name])['repositories'][0]
got = ecr.batch_get_image(repositoryName=name, imageIds=[{'imageTag': tag}],
                          acceptedMediaTypes=['application/vnd.oci.image.manifest.v1+json'])
image = got['images'][0]
layer = json.loads(image['imageManifest'])['layers'][0]['digest']
url = ecr.get_download_url_for_layer(repositoryName=name, layerDigest=layer)['downloadUrl']
data = urllib.request.urlopen(url).read()
print(json.dumps({'encryption': repo['encryptionConfiguration'], 'digest': image['imageId']['imageDigest'],
  'manifest': image['imageManifest'], 'layerOk': 'sha256:' + hashlib.sha256(data).hexdigest() == layer,
  'failures': got['failures']}))
`;

describe.runIf(available('boto3'))('boto3 against the emulator, around a migration by the library', { timeout: 240_000 }, () => {
  let aws: LocalAws;
  let dir: string;

  beforeAll(async () => {
    aws = await startLocalAws();
    dir = mkdtempSync(join(tmpdir(), 'boto3-migrate-'));
  });
  afterAll(async () => {
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an image pushed by boto3 is migrated AES256 → CMK byte-exact and read back by boto3', async () => {
    const pushed = json<{ digest: string; manifest: string; partSize: number }>(await python(aws, aws.credentials, PUSH, 'py/app', 'v1'));
    expect(pushed.partSize).toBeGreaterThanOrEqual(5 * 1024 * 1024);

    const kms = kmsFor(aws);
    const key = await createKey(kms);
    const registry = registryFor(aws);
    const migrated = await registry.migrateRepository({
      repositoryName: 'py/app',
      encryption: { type: 'KMS', key: key.arn },
      journal: fileJournal(join(dir, 'journal.json')),
    });
    expect(migrated._unsafeUnwrap()).toMatchObject({ changed: true, to: { type: 'KMS', keyArn: key.arn } });
    registry.destroy();
    kms.destroy();

    const read = json<{ encryption: unknown; digest: string; manifest: string; layerOk: boolean; failures: unknown[] }>(
      await python(aws, aws.credentials, READ, 'py/app', 'v1'),
    );
    expect(read).toEqual({
      encryption: { encryptionType: 'KMS', kmsKey: key.arn },
      digest: pushed.digest,
      manifest: pushed.manifest,
      layerOk: true,
      failures: [],
    });
  });
});
