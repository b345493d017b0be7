/**
 * The tutorial's data, shared by examples/blobs.ts, the browser demo and the peer benchmark so that
 * all three train on exactly the same points: scikit-learn's `make_blobs` with 1100 samples, 3
 * centers, 2 features, std 2 and random_state 2; the first 100 rows train, the other 1000 test.
 *
 * @module
 */
import {
  type Blobs,
  makeBlobs,
  type MakeBlobsOptions,
  splitAt,
  toFloat32,
  type TrainingData,
} from "@snapfold/snapfold";

/** The tutorial's `make_blobs` arguments. */
export const TUTORIAL_BLOBS: MakeBlobsOptions = {
  nSamples: 1100,
  centers: 3,
  nFeatures: 2,
  clusterStd: 2,
  randomState: 2,
};

/** Rows that train; the rest test. */
export const TUTORIAL_TRAIN_ROWS = 100;

/** The tutorial's blobs, and its training and test sets ready for training (float32). */
export interface TutorialData {
  /** All 1100 points, as `makeBlobs` returns them. */
  readonly blobs: Blobs;
  /** The first 100 rows. */
  readonly train: TrainingData & { readonly y: Int32Array };
  /** The other 1000 rows. */
  readonly test: TrainingData & { readonly y: Int32Array };
}

/**
 * Makes the tutorial's data.
 *
 * @example
 * ```ts
 * import { tutorialData } from "./_tutorial.ts";
 * import assert from "node:assert/strict";
 *
 * const { train, test } = tutorialData();
 * assert.equal(train.n, 100);
 * assert.equal(test.n, 1000);
 * ```
 *
 * @returns The blobs and the two sets.
 */
export function tutorialData(): TutorialData {
  const blobs = makeBlobs(TUTORIAL_BLOBS);
  const [train, test] = splitAt(blobs, TUTORIAL_TRAIN_ROWS);
  return {
    blobs,
    train: { x: toFloat32(train.x), y: train.y, n: train.n },
    test: { x: toFloat32(test.x), y: test.y, n: test.n },
  };
}
