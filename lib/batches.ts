/**
 * Mini-batches: each epoch shuffles the sample indices with the run's seeded random state and cuts
 * them into consecutive batches; the last batch of an epoch may be short (100 samples with batch 32
 * give 32, 32, 32 and 4), as Keras' `fit` and PyTorch's `DataLoader(drop_last=False)` do.
 *
 * The result has the `indices`/`offsets` shape of a `StepPlan`, so every backend sees the same
 * batches in the same order. Batches are built one epoch at a time from a `RandomState` that the
 * caller owns, so a trainer can checkpoint the random state between epochs and resume exactly.
 *
 * @module
 */
import {
  andThen,
  check,
  field,
  map,
  options,
  orThrow,
  struct,
  type Validation,
} from "./validation.ts";
import type { RandomState } from "./random.ts";

/** The mini-batches of one or more epochs, in the layout of a `StepPlan`. */
export interface Batches {
  /** Sample indices of every batch, concatenated. */
  readonly indices: Int32Array;
  /** [steps + 1] boundaries of each batch in `indices`; `offsets[0] = 0`. */
  readonly offsets: Int32Array;
}

/** Options of {@linkcode epochBatches} and {@linkcode epochsBatches}. */
export interface BatchOptions {
  /** Number of samples. */
  readonly n: number;
  /** Samples per batch (the last batch of an epoch may be shorter). */
  readonly batchSize: number;
  /** Shuffle every epoch (default true); without it the random state is not touched. */
  readonly shuffle?: boolean;
}

/**
 * Number of optimizer steps in one epoch: `ceil(n / batchSize)`.
 *
 * @example
 * ```ts
 * import { stepsPerEpoch } from "./batches.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(stepsPerEpoch(100, 32), 4);
 * assert.equal(stepsPerEpoch(96, 32), 3);
 * ```
 *
 * @param n Number of samples.
 * @param batchSize Samples per batch.
 * @returns Steps per epoch.
 * @throws {ConfigError} when either is not a positive integer.
 */
export function stepsPerEpoch(n: number, batchSize: number): number {
  orThrow("Cannot count steps per epoch", validateCounts(n, batchSize));
  return Math.ceil(n / batchSize);
}

function validateCounts(n: unknown, batchSize: unknown) {
  return struct({
    n: field<number>("n", n, check.positiveInt),
    batchSize: field<number>("batchSize", batchSize, check.positiveInt),
  });
}

/**
 * Most sample indices one call builds (`n x epochs`, 256 MiB of `Int32Array`): a bigger request is
 * refused instead of allocating without bound.
 */
export const MAX_BATCH_INDICES = 2 ** 26;

/** Validated arguments of {@linkcode epochsBatches}. */
interface BatchRequest {
  readonly n: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly epochs: number;
}

function validateRequest(
  random: unknown,
  given: unknown,
  epochs: unknown,
): Validation<BatchRequest> {
  const request = andThen(
    options(given, ["n", "batchSize", "shuffle"]),
    (o) =>
      struct({
        n: field<number>("n", o.n, check.positiveInt),
        batchSize: field<number>("batchSize", o.batchSize, check.positiveInt),
        shuffle: field<boolean>("shuffle", o.shuffle ?? true, check.boolean),
        epochs: field<number>("epochs", epochs, check.positiveInt),
      }),
  );
  return andThen(request, (r) =>
    map(
      struct({
        size: field("n", r.n, (f) =>
          check.that(
            r.n * r.epochs <= MAX_BATCH_INDICES,
            f,
            `times epochs (${r.epochs}) must be at most ${MAX_BATCH_INDICES} sample indices per ` +
              "call (build the batches a few epochs at a time)",
            r.n,
          )),
        random: field("random", random, (f, v) =>
          check.that(
            !r.shuffle || typeof (v as RandomState | null)?.permutation === "function",
            f,
            "must be a RandomState (from randomState(seed)) when shuffling",
            v,
          )),
      }),
      () => r,
    ));
}

/**
 * The batches of one epoch: `random.permutation(n)` (or `0 .. n-1` with `shuffle: false`) cut into
 * consecutive batches of `batchSize`.
 *
 * @example
 * ```ts
 * import { randomState } from "@snapfold/snapfold";
 * import { epochBatches } from "./batches.ts";
 * import assert from "node:assert/strict";
 *
 * const { indices, offsets } = epochBatches(randomState(0), { n: 100, batchSize: 32 });
 * assert.deepEqual([...offsets], [0, 32, 64, 96, 100]);
 * assert.deepEqual([...indices].sort((a, b) => a - b), [...Array(100).keys()]);
 * const plain = epochBatches(randomState(0), { n: 5, batchSize: 2, shuffle: false });
 * assert.deepEqual([...plain.indices], [0, 1, 2, 3, 4]);
 * ```
 *
 * @param random The run's random state (advanced by one permutation when shuffling).
 * @param options Samples, batch size and whether to shuffle.
 * @returns The epoch's batches.
 * @throws {ConfigError} naming every bad option.
 */
export function epochBatches(random: RandomState, options: BatchOptions): Batches {
  return epochsBatches(random, options, 1);
}

/**
 * The batches of `epochs` consecutive epochs, each shuffled in turn from `random` (the same as
 * concatenating `epochs` calls of {@linkcode epochBatches}).
 *
 * @example
 * ```ts
 * import { randomState } from "@snapfold/snapfold";
 * import { epochBatches, epochsBatches } from "./batches.ts";
 * import assert from "node:assert/strict";
 *
 * const two = epochsBatches(randomState(3), { n: 10, batchSize: 4 }, 2);
 * assert.deepEqual([...two.offsets], [0, 4, 8, 10, 14, 18, 20]);
 * const random = randomState(3);
 * const first = epochBatches(random, { n: 10, batchSize: 4 });
 * const second = epochBatches(random, { n: 10, batchSize: 4 });
 * assert.deepEqual([...two.indices], [...first.indices, ...second.indices]);
 * ```
 *
 * @param random The run's random state (advanced by one permutation per shuffled epoch).
 * @param options Samples, batch size and whether to shuffle.
 * @param epochs Number of epochs.
 * @returns The batches of every epoch, concatenated.
 * @throws {ConfigError} naming every bad option.
 */
export function epochsBatches(
  random: RandomState,
  options: BatchOptions,
  epochs: number,
): Batches {
  const { n, batchSize, shuffle } = orThrow(
    "Cannot build batches",
    validateRequest(random, options, epochs),
  );
  const steps = Math.ceil(n / batchSize);
  const indices = new Int32Array(n * epochs);
  const offsets = new Int32Array(steps * epochs + 1);
  for (let e = 0; e < epochs; e++) {
    const base = e * n;
    if (shuffle) indices.set(random.permutation(n), base);
    else for (let k = 0; k < n; k++) indices[base + k] = k;
    for (let s = 0; s < steps; s++) {
      offsets[e * steps + s + 1] = base + Math.min((s + 1) * batchSize, n);
    }
  }
  return { indices, offsets };
}
