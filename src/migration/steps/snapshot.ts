/** Step 2, `snapshot`: the image graph, taken once the repository is frozen. */
import { errAsync, okAsync } from 'neverthrow';
import type { ImagesArchived } from '../../errors.js';
import { snapshotImages } from '../snapshot.js';
import { graphWarnings } from '../warnings.js';
import type { MigrationRun, StepResult } from './run.js';

/** 2. The image graph, taken after the freeze so it stays true. */
export const snapshot = (run: MigrationRun): StepResult => {
  const s = run.state;
  return snapshotImages(run.ctx, s.repositoryName, run.options.signal ? { signal: run.options.signal, retry: run.options.retry } : { retry: run.options.retry }).andThen(
    (graph): StepResult => {
      if (graph.archived.length > 0) {
        const archived: ImagesArchived = {
          kind: 'ImagesArchived',
          repositoryName: s.repositoryName,
          images: graph.images
            .filter((i) => i.status !== 'ACTIVE')
            .map((i) => ({ imageDigest: i.digest, imageTags: i.tags, status: i.status === 'ARCHIVED' ? 'ARCHIVED' : 'ACTIVATING' })),
        };
        return errAsync(archived);
      }
      s.snapshot = graph;
      for (const w of graphWarnings(graph, s.original.settings, false).filter((w) => w.code === 'danglingReferences' || w.code === 'externalBlobs')) run.warn(w);
      return okAsync(undefined);
    },
  );
};
