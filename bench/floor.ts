/**
 * The floor: the arithmetic of snapfold's CPU training written as one bare loop over `Float32Array`s,
 * with nothing around it (no backend, no plan, no events, no validation). The peer benchmark
 * (`bench/peers.ts`) times snapfold against it; the target is snapfold within 1.3x of this.
 *
 * It does the arithmetic that `train` + `createCpuBackend` do for an MLP with one ReLU hidden
 * layer and a softmax head, so that both end at the same parameters up to rounding (checked by the
 * benchmark; the backend's blocked kernels sum in float64, this loop in float32): every epoch draws
 * `randomState([seed, 0x5eed]).permutation(n)` and cuts it into
 * batches (the last one short); every step runs the forward pass, softmax cross-entropy (the mean
 * loss and the count of correct predictions, as the backend's statistics), the backward pass, and
 * SGD with momentum in the Keras convention (`v = m v - lr g; w += v`).
 *
 * ```sh
 * deno run bench/floor.ts      # the tutorial workload, 2000 steps, 5 runs
 * ```
 *
 * @module
 */
import { initParams, mlp, randomState } from "../mod.ts";

/** Options of {@linkcode floorTrain}. */
export interface FloorOptions {
  /** `[inDim, hidden, classes]`: one ReLU hidden layer and a softmax head. */
  readonly layers: readonly [number, number, number];
  /** [n, inDim] training inputs. */
  readonly x: Float32Array;
  /** [n] labels. */
  readonly y: Int32Array;
  /** Number of training rows. */
  readonly n: number;
  /** Rows per step (the last batch of an epoch may be shorter). */
  readonly batchSize: number;
  /** Passes over the data. */
  readonly epochs: number;
  /** [epochs * ceil(n / batchSize)] learning rate of every step. */
  readonly lrs: Float32Array;
  /** Momentum coefficient (Keras convention). */
  readonly momentum: number;
  /** Starting parameters in snapfold's layout (`W1 [in, hidden]`, `b1`, `W2 [hidden, out]`, `b2`). */
  readonly initialParams: Float32Array;
  /** Seed of the batch order, as the trainer's `seed`. */
  readonly seed: number;
}

/** What {@linkcode floorTrain} returns. */
export interface FloorResult {
  /** The final parameters. */
  readonly params: Float32Array;
  /** Mean training loss over the last epoch's samples. */
  readonly loss: number;
  /** Fraction of the last epoch's samples classified correctly. */
  readonly accuracy: number;
}

// The trainer's seed-stream tag for the batch order (lib/train/train.ts, BATCH_STREAM).
const BATCH_STREAM = 0x5eed;

/**
 * Trains a one-hidden-layer ReLU MLP with softmax cross-entropy and Keras-style momentum SGD, as one
 * loop.
 *
 * @example Learning XOR-like labels on four points
 * ```ts
 * import assert from "node:assert/strict";
 * import { initParams, mlp } from "@snapfold/snapfold";
 * import { floorTrain } from "./floor.ts";
 *
 * const x = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]); // [4, 2]
 * const y = new Int32Array([0, 1, 1, 0]);
 * const epochs = 400;
 * const result = floorTrain({
 *   layers: [2, 16, 2], x, y, n: 4, batchSize: 4, epochs,
 *   lrs: new Float32Array(epochs).fill(0.1), momentum: 0.9,
 *   initialParams: initParams(mlp({ layers: [2, 16, 2] }), { seed: 3 }), seed: 3,
 * });
 * assert.equal(result.accuracy, 1);
 * assert.ok(result.loss < 0.1);
 * ```
 *
 * @param options The network widths, data, batch size, epochs, learning rates, momentum, start and seed.
 * @returns The final parameters and the last epoch's loss and accuracy.
 */
export function floorTrain(options: FloorOptions): FloorResult {
  const { layers, x, y, n, batchSize, epochs, lrs, momentum, seed } = options;
  const [inDim, hidden, classes] = layers;
  const params = options.initialParams.slice();
  const ws: Workspace = {
    inDim,
    hidden,
    classes,
    momentum,
    params,
    grad: new Float32Array(params.length),
    velocity: new Float32Array(params.length),
    input: new Float32Array(batchSize * inDim),
    h: new Float32Array(batchSize * hidden),
    z: new Float32Array(batchSize * classes),
    dz: new Float32Array(batchSize * classes),
    dh: new Float32Array(batchSize * hidden),
    labels: new Int32Array(batchSize),
    loss: 0,
    correct: 0,
  };
  const rng = randomState([seed, BATCH_STREAM]);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = rng.permutation(n);
    ws.loss = 0;
    ws.correct = 0;
    for (let s = 0; s < stepsPerEpoch; s++, step++) {
      const start = s * batchSize;
      const rows = Math.min(batchSize, n - start);
      const { input, labels } = ws;
      for (let b = 0; b < rows; b++) {
        const src = order[start + b];
        for (let i = 0; i < inDim; i++) input[b * inDim + i] = x[src * inDim + i];
        labels[b] = y[src];
      }
      trainStep(ws, rows, lrs[step]);
    }
  }
  return { params, loss: ws.loss / n, accuracy: ws.correct / n };
}

/** Buffers and running sums of one run. */
interface Workspace {
  readonly inDim: number;
  readonly hidden: number;
  readonly classes: number;
  readonly momentum: number;
  /** [P] W1 [inDim, hidden], b1 [hidden], W2 [hidden, classes], b2 [classes]. */
  readonly params: Float32Array;
  readonly grad: Float32Array; // [P]
  readonly velocity: Float32Array; // [P]
  readonly input: Float32Array; // [batch, inDim]
  readonly h: Float32Array; // [batch, hidden]
  readonly z: Float32Array; // [batch, classes]
  readonly dz: Float32Array; // [batch, classes]
  readonly dh: Float32Array; // [batch, hidden]
  readonly labels: Int32Array; // [batch]
  /** Sum of per-sample losses this epoch. */
  loss: number;
  /** Correct predictions this epoch. */
  correct: number;
}

// One step as its own function: V8 optimises a function called thousands of times fully, while a
// single long-running loop only gets on-stack replacement (measured 1.5-2x slower on MNIST).
function trainStep(ws: Workspace, rows: number, lr: number): void {
  const { inDim, hidden, classes, momentum, params, grad, velocity, input, h, z, dz, dh, labels } =
    ws;
  const P = params.length;
  // Offsets in the flat parameter vector.
  const w1 = 0;
  const b1 = inDim * hidden;
  const w2 = b1 + hidden;
  const b2 = w2 + hidden * classes;
  // Forward: h = relu(input W1 + b1), z = h W2 + b2.
  for (let b = 0; b < rows; b++) {
    const hr = b * hidden;
    for (let o = 0; o < hidden; o++) h[hr + o] = params[b1 + o];
    for (let i = 0; i < inDim; i++) {
      const a = input[b * inDim + i];
      const wr = w1 + i * hidden;
      for (let o = 0; o < hidden; o++) h[hr + o] += a * params[wr + o];
    }
  }
  for (let k = 0; k < rows * hidden; k++) if (h[k] < 0) h[k] = 0;
  for (let b = 0; b < rows; b++) {
    const zr = b * classes;
    for (let c = 0; c < classes; c++) z[zr + c] = params[b2 + c];
    for (let i = 0; i < hidden; i++) {
      const a = h[b * hidden + i];
      const wr = w2 + i * classes;
      for (let c = 0; c < classes; c++) z[zr + c] += a * params[wr + c];
    }
  }
  // Softmax cross-entropy: mean loss, dz = (softmax - onehot) / rows, correct predictions.
  const scale = 1 / rows;
  let total = 0;
  let correct = 0;
  for (let b = 0; b < rows; b++) {
    const zr = b * classes;
    const label = labels[b];
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (z[zr + c] > max) max = z[zr + c];
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(z[zr + c] - max);
    total += max + Math.log(sum) - z[zr + label];
    const inv = 1 / sum;
    for (let c = 0; c < classes; c++) {
      const p = Math.exp(z[zr + c] - max) * inv;
      dz[zr + c] = (c === label ? p - 1 : p) * scale;
    }
  }
  for (let b = 0; b < rows; b++) {
    const zr = b * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (z[zr + c] > z[zr + best]) best = c;
    if (best === labels[b]) correct++;
  }
  ws.loss += total * scale * rows;
  ws.correct += correct;
  // Backward: gradients of W2, b2, then dh = dz W2^T masked by relu', then W1, b1.
  grad.fill(0);
  for (let b = 0; b < rows; b++) {
    const zr = b * classes;
    for (let c = 0; c < classes; c++) grad[b2 + c] += dz[zr + c];
    for (let i = 0; i < hidden; i++) {
      const a = h[b * hidden + i];
      const gr = w2 + i * classes;
      for (let c = 0; c < classes; c++) grad[gr + c] += a * dz[zr + c];
    }
  }
  for (let b = 0; b < rows; b++) {
    const zr = b * classes;
    for (let i = 0; i < hidden; i++) {
      const wr = w2 + i * classes;
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += dz[zr + c] * params[wr + c];
      dh[b * hidden + i] = sum;
    }
  }
  for (let k = 0; k < rows * hidden; k++) if (!(h[k] > 0)) dh[k] = 0;
  for (let b = 0; b < rows; b++) {
    const hr = b * hidden;
    for (let o = 0; o < hidden; o++) grad[b1 + o] += dh[hr + o];
    for (let i = 0; i < inDim; i++) {
      const a = input[b * inDim + i];
      const gr = w1 + i * hidden;
      for (let o = 0; o < hidden; o++) grad[gr + o] += a * dh[hr + o];
    }
  }
  // SGD with momentum, Keras convention.
  for (let k = 0; k < P; k++) {
    const v = momentum * velocity[k] - lr * grad[k];
    velocity[k] = v;
    params[k] += v;
  }
}

if (import.meta.main) {
  // The tutorial workload, built here without the benchmark's files (see bench/peers.ts for all).
  const { makeBlobs, splitAt, toFloat32, cosineAnnealing } = await import("../mod.ts");
  const [trainSet] = splitAt(
    makeBlobs({ nSamples: 1100, centers: 3, nFeatures: 2, clusterStd: 2, randomState: 2 }),
    100,
  );
  const epochs = 500;
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: epochs, cycles: 10 });
  const lrs = new Float32Array(epochs * 4);
  for (let s = 0; s < lrs.length; s++) lrs[s] = schedule(Math.floor(s / 4));
  const layers = [2, 25, 3] as const;
  const x = toFloat32(trainSet.x);
  const initialParams = initParams(mlp({ layers: [...layers] }), { seed: 1 });
  const times: number[] = [];
  let result: FloorResult | undefined;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    result = floorTrain({
      layers,
      x,
      y: trainSet.y,
      n: trainSet.n,
      batchSize: 32,
      epochs,
      lrs,
      momentum: 0.9,
      initialParams,
      seed: 1,
    });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(
    `Floor, tutorial workload (2000 steps): median ${times[2].toFixed(1)} ms of 5 runs; ` +
      `last-epoch loss ${result!.loss.toFixed(4)}, accuracy ${result!.accuracy.toFixed(3)}`,
  );
}
