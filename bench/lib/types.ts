/** What every benchmark reports: figures with their target and how far they are from it. */

/** One measured figure. */
export interface Figure {
  /** Stable id, e.g. `throughput.ratio`. */
  readonly id: string;
  /** Which benchmark produced it. */
  readonly bench: BenchName;
  /** What it is, for the table. */
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  /** The target as text (`≤ 1.25×`, `≥ 4×`, `< 300 MiB`), or undefined for informative figures. */
  readonly target?: string;
  /** value / reference (floor, minimum or target), when there is one. */
  readonly ratio?: number;
  /** Whether the target is met; undefined for informative figures. */
  readonly pass?: boolean;
  /** Anything else worth keeping in the JSON (counts, sizes, per-operation calls). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export const BENCH_NAMES = ['throughput', 'concurrency', 'memory', 'calls', 'audit', 'policy', 'peer', 'fleet', 'orgAudit'] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

/** Sizes of one run: the real ones, or tiny ones for a smoke run (`--quick`). */
export interface BenchSizes {
  readonly quick: boolean;
  /** Throughput: images and unique layer bytes; concurrency used by the copy and the floor. */
  readonly throughput: { readonly images: number; readonly bytes: number; readonly concurrency: number };
  /** Concurrency: images, layers per image, bytes per layer, latency per call. */
  readonly concurrency: { readonly images: number; readonly layersPerImage: number; readonly layerBytes: number; readonly latencyMs: number };
  /** Memory: single-layer sizes. */
  readonly memory: { readonly layerSizes: readonly number[] };
  /** API calls: images, and how many of them carry a multi-part layer. */
  readonly calls: { readonly images: number; readonly multipartLayers: number };
  /** Audit: repositories and keys. */
  readonly audit: { readonly repositories: number; readonly keys: number };
  /** Policy: how long to evaluate for. */
  readonly policy: { readonly durationMs: number };
  /** Peer (skopeo): images and unique layer bytes of the repository both move; the library's concurrency. */
  readonly peer: { readonly images: number; readonly bytes: number; readonly concurrency: number };
  /** Fleet: repositories migrated at once, images in each, latency per call. */
  readonly fleet: { readonly repositories: number; readonly imagesPerRepository: number; readonly latencyMs: number; readonly concurrency: number };
  /** Organization audit: accounts × regions × repositories per target, latency per call, targets audited at once. */
  readonly orgAudit: {
    readonly accounts: number;
    readonly regions: readonly string[];
    readonly repositoriesPerTarget: number;
    readonly latencyMs: number;
    readonly concurrency: number;
  };
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const FULL_SIZES: BenchSizes = {
  quick: false,
  throughput: { images: 200, bytes: GiB, concurrency: 4 },
  concurrency: { images: 24, layersPerImage: 4, layerBytes: 64 * 1024, latencyMs: 20 },
  memory: { layerSizes: [256 * MiB, GiB, 2 * GiB] },
  calls: { images: 250, multipartLayers: 6 },
  audit: { repositories: 10_000, keys: 5 },
  policy: { durationMs: 2_000 },
  peer: { images: 40, bytes: GiB, concurrency: 4 },
  fleet: { repositories: 50, imagesPerRepository: 4, latencyMs: 20, concurrency: 16 },
  orgAudit: { accounts: 20, regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'], repositoriesPerTarget: 200, latencyMs: 20, concurrency: 8 },
};

export const QUICK_SIZES: BenchSizes = {
  quick: true,
  throughput: { images: 8, bytes: 24 * MiB, concurrency: 4 },
  concurrency: { images: 4, layersPerImage: 2, layerBytes: 16 * 1024, latencyMs: 20 },
  memory: { layerSizes: [12 * MiB, 24 * MiB] },
  calls: { images: 12, multipartLayers: 1 },
  audit: { repositories: 60, keys: 3 },
  policy: { durationMs: 200 },
  peer: { images: 6, bytes: 24 * MiB, concurrency: 4 },
  fleet: { repositories: 6, imagesPerRepository: 2, latencyMs: 20, concurrency: 3 },
  orgAudit: { accounts: 3, regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2'], repositoriesPerTarget: 10, latencyMs: 20, concurrency: 8 },
};

/** A benchmark: given the sizes, its figures. */
export type Bench = (sizes: BenchSizes, log: (line: string) => void) => Promise<Figure[]>;
