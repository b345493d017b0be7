/**
 * Every WebAssembly kernel of `wasm/` (both variants: relaxed and plain SIMD) against its TypeScript
 * reference: the CPU backend's kernels (lib/ops/_dense_blocked.ts, _dense_sparse.ts, accumulating in float64),
 * the losses of lib/ops/loss.ts, the dropout masks of lib/ops/dropout.ts and the optimizers'
 * reference updates, on a sweep of shapes that includes sizes not divisible by the 4 x 8 tiles and
 * the 32-wide sparse blocks, batch 1, zero rows and columns; the soft-target loss also against the
 * float64 reference of lib/ops/softmax_xent_soft.ts. Products are compared within float tolerance
 * (float32 accumulation, fused multiply-adds); the losses, the dropout and the updates are the same
 * operations in the same order, so they must give the same bits.
 */
import assert from "node:assert/strict";
import {
  backpropDense,
  forwardDense,
  LINEAR,
  RELU,
  SIGMOID,
  TANH,
  weightGradDense,
} from "../lib/ops/_dense_blocked.ts";
import { assertClose } from "./_backend_cases.ts";
import {
  compressGathered,
  compressRows,
  forwardSparse,
  makeSparseRows,
  type SparseRows,
  transposeRows,
  weightGradSparse,
} from "../lib/ops/_dense_sparse.ts";
import { softmaxLossRows } from "../lib/ops/loss.ts";
import { softmaxXentSoftRef, softmaxXentSoftRows } from "../lib/ops/softmax_xent_soft.ts";
import { applyMask, dropoutSeedKey, fillDropoutMask } from "../lib/ops/dropout.ts";
import {
  compileKernels,
  instantiateKernels,
  WasmHeap,
  type WasmKernels,
  type WasmVariant,
} from "../lib/backend/wasm/_kernels.ts";
import { adam, adamw, type Optimizer, randomState, sgd } from "../mod.ts";
import { meanSquaredError } from "../lib/ops/loss.ts";
import { applyUpdate } from "../lib/optimizers/mod.ts";
import { WASM_UPDATES } from "../lib/backend/wasm/_update.ts";
import { splitKernels } from "../lib/backend/wasm/_split.ts";
import { rebalance } from "../lib/backend/wasm/_threads.ts";
import type { SplitOp } from "../lib/backend/wasm/_protocol.ts";
import { SnapfoldError } from "../lib/errors.ts";

/** The CPU kernels' activation code of each wasm code (linear 0, relu 1, tanh 2, sigmoid 3). */
const CPU_CODE = [LINEAR, RELU, TANH, SIGMOID];

const ROWS = [1, 3, 4, 5, 9];
const IN_DIMS = [1, 2, 3, 7, 13, 33];
const OUT_DIMS = [1, 3, 4, 5, 8, 9, 12, 17, 33, 40];

interface Harness {
  readonly k: WasmKernels;
  readonly heap: WasmHeap;
  put(values: Float32Array | Int32Array): number;
  f32(at: number, count: number): Float32Array;
  i32(at: number, count: number): Int32Array;
  reset(): void;
}

async function harness(variant: WasmVariant): Promise<Harness> {
  const heap = new WasmHeap(1 << 20);
  const k = await instantiateKernels(await compileKernels(variant), heap.memory);
  const start = heap.top;
  return {
    k,
    heap,
    put(values) {
      const at = heap.alloc(values.length);
      if (values instanceof Float32Array) heap.f32(at, values.length).set(values);
      else heap.i32(at, values.length).set(values);
      return at;
    },
    f32: (at, count) => heap.f32(at, count).slice(),
    i32: (at, count) => heap.i32(at, count).slice(),
    reset: () => heap.release(start),
  };
}

function randomFloats(seed: number, count: number, zeros = 0): Float32Array {
  const random = randomState(seed);
  const out = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    out[k] = random.uniform(0, 1) < zeros ? 0 : random.uniform(-1, 1);
  }
  return out;
}

const TOL = { rel: 1e-5, abs: 2e-5 };

for (const variant of ["relaxed", "simd"] as const) {
  Deno.test(`wasm kernels (${variant}): gemm is forwardDense for every activation and shape`, async () => {
    const h = await harness(variant);
    let seed = 1;
    for (const rows of ROWS) {
      for (const inDim of IN_DIMS) {
        for (const outDim of OUT_DIMS) {
          const x = randomFloats(seed++, rows * inDim, 0.2);
          const params = randomFloats(seed++, inDim * outDim + outDim);
          for (let act = 0; act < 4; act++) {
            h.reset();
            const px = h.put(x);
            const pp = h.put(params);
            const out = h.heap.alloc(rows * outDim);
            h.k.dense.gemm(px, rows, inDim, pp, pp + 4 * inDim * outDim, outDim, out, act);
            const expected = new Float32Array(rows * outDim);
            forwardDense(
              x,
              rows,
              params,
              0,
              inDim * outDim,
              inDim,
              outDim,
              expected,
              CPU_CODE[act],
            );
            const label = `gemm ${rows}x${inDim}x${outDim} act ${act}`;
            assertClose(h.f32(out, rows * outDim), expected, { ...TOL, label });
          }
          // Without a bias (address 0): the plain product.
          h.reset();
          const out = h.heap.alloc(rows * outDim);
          h.k.dense.gemm(h.put(x), rows, inDim, h.put(params), 0, outDim, out, 0);
          const zeroBias = params.slice();
          zeroBias.fill(0, inDim * outDim);
          const expected = new Float32Array(rows * outDim);
          forwardDense(x, rows, zeroBias, 0, inDim * outDim, inDim, outDim, expected, LINEAR);
          assertClose(h.f32(out, rows * outDim), expected, { ...TOL, label: "gemm without bias" });
        }
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): gemm_tn and bias_grad are weightGradDense`, async () => {
    const h = await harness(variant);
    let seed = 100;
    for (const rows of ROWS) {
      for (const inDim of IN_DIMS) {
        for (const outDim of OUT_DIMS) {
          h.reset();
          const x = randomFloats(seed++, rows * inDim, 0.2);
          const delta = randomFloats(seed++, rows * outDim);
          const grad = h.heap.alloc(inDim * outDim + outDim);
          const px = h.put(x);
          const pd = h.put(delta);
          h.k.dense.gemm_tn(px, rows, inDim, pd, outDim, grad);
          h.k.dense.bias_grad(pd, rows, outDim, grad + 4 * inDim * outDim);
          const expected = new Float32Array(inDim * outDim + outDim);
          weightGradDense(x, delta, rows, inDim, outDim, expected, 0, inDim * outDim);
          const label = `weight gradient ${rows}x${inDim}x${outDim}`;
          assertClose(h.f32(grad, expected.length), expected, { ...TOL, label });
        }
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): backprop is backpropDense for every activation`, async () => {
    const h = await harness(variant);
    let seed = 200;
    for (const rows of ROWS) {
      for (const inDim of IN_DIMS) {
        for (const outDim of OUT_DIMS) {
          const delta = randomFloats(seed++, rows * outDim);
          const w = randomFloats(seed++, inDim * outDim);
          const z = randomFloats(seed++, rows * inDim);
          for (let act = 0; act < 4; act++) {
            h.reset();
            // The layer's inputs are the previous layer's activations a = f(z).
            const a = z.map((v) =>
              act === 1
                ? Math.max(v, 0)
                : act === 2
                ? Math.tanh(v)
                : act === 3
                ? 1 / (1 + Math.exp(-v))
                : v
            );
            const prev = h.heap.alloc(rows * inDim);
            const scratch = h.heap.alloc(inDim * outDim);
            h.k.dense.backprop(
              h.put(delta),
              rows,
              outDim,
              h.put(w),
              inDim,
              h.put(a),
              act,
              prev,
              scratch,
            );
            const expected = new Float32Array(rows * inDim);
            backpropDense(delta, rows, w, 0, inDim, outDim, a, CPU_CODE[act], expected);
            const label = `backprop ${rows}x${inDim}x${outDim} act ${act}`;
            assertClose(h.f32(prev, rows * inDim), expected, { ...TOL, label });
          }
        }
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): csr_rows keeps what x != 0 keeps and writes one slot past the nonzeros at most`, async () => {
    const h = await harness(variant);
    let seed = 900;
    for (const width of [1, 3, 4, 15, 16, 17, 33, 70]) {
      for (const rows of [1, 2, 5, 13]) {
        for (const zeros of [0, 0.5, 0.9, 1]) {
          // cols as columns (scale 1, the upload) or as byte offsets of weight rows (prediction)
          const scale = zeros === 0.5 ? 1 : 4 * (width + 3);
          h.reset();
          const x = randomFloats(seed++, rows * width, zeros);
          if (x.length > 2) x[1] = -0; // not a nonzero
          if (x.length > 3) x[x.length - 2] = NaN; // a nonzero, as csr_rows keeps it
          let expected = 0;
          for (const v of x) if (v !== 0) expected++;
          const label = `${rows}x${width} zeros ${zeros}`;
          const at = h.put(x);
          // Exactly one slot more than the nonzeros, with guards after each array.
          const rowStart = h.heap.alloc(rows + 1);
          const cols = h.put(new Int32Array(expected + 1 + 4).fill(-7));
          const values = h.put(new Float32Array(expected + 1 + 4).fill(-7));
          assert.equal(
            h.k.sparse.csr_rows(at, width, 0, rows, rowStart, cols, values, scale),
            expected,
            `${label}: csr_rows`,
          );
          assert.deepEqual([...h.i32(cols + 4 * (expected + 1), 4)], [-7, -7, -7, -7], label);
          assert.deepEqual([...h.f32(values + 4 * (expected + 1), 4)], [-7, -7, -7, -7], label);
          const want = { cols: [] as number[], values: [] as number[], starts: [0] };
          for (let b = 0; b < rows; b++) {
            for (let i = 0; i < width; i++) {
              if (x[b * width + i] !== 0) {
                want.cols.push(i * scale), want.values.push(x[b * width + i]);
              }
            }
            want.starts.push(want.cols.length);
          }
          assert.deepEqual([...h.i32(rowStart, rows + 1)], want.starts, `${label}: rowStart`);
          assert.deepEqual([...h.i32(cols, expected)], want.cols, `${label}: cols`);
          assert.deepEqual([...h.f32(values, expected)], want.values, `${label}: values`);
        }
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): the sparse first layer matches the CPU's, exactly where it is exact`, async () => {
    const h = await harness(variant);
    let seed = 300;
    for (const rows of ROWS) {
      for (const width of [1, 3, 4, 9, 37, 70]) {
        for (const outDim of [1, 3, 4, 7, 32, 33, 45, 70]) {
          h.reset();
          const n = rows + 3;
          const x = randomFloats(seed++, n * width, 0.8);
          x.fill(0, 0, width); // a row of zeros
          for (let b = 0; b < n; b++) x[b * width + (width - 1)] = 0; // a column of zeros
          if (width > 2) x[width + 1] = -0; // -0 counts as a zero
          const indices = Int32Array.from({ length: rows }, (_, b) => (b * 5 + 2) % n);
          const sparse = makeSparseRows<Float32Array>(width, rows, true, Float32Array);
          compressGathered(x, indices, 0, rows, sparse);
          transposeRows(sparse, rows);
          const size = rows * width;
          // A batch's nonzeros by row and by column.
          const buffers = () => ({
            rowStart: h.heap.alloc(rows + 1),
            cols: h.heap.alloc(size),
            values: h.heap.alloc(size),
            colStart: h.heap.alloc(width + 1),
            colRows: h.heap.alloc(size),
            colValues: h.heap.alloc(size),
          });
          const at = { x: h.put(x), idx: h.put(indices), ...buffers() };
          const nnz = h.k.sparse.csr_rows(
            at.x,
            width,
            at.idx,
            rows,
            at.rowStart,
            at.cols,
            at.values,
            1,
          );
          const label = `sparse ${rows}x${width}x${outDim}`;
          assert.equal(nnz, sparse.rowStart[rows], `${label}: nonzeros`);
          assert.deepEqual(h.i32(at.rowStart, rows + 1), sparse.rowStart.slice(0, rows + 1));
          assert.deepEqual(h.i32(at.cols, nnz), sparse.cols.slice(0, nnz));
          assert.deepEqual(h.f32(at.values, nnz), sparse.values.slice(0, nnz));
          // The same batch gathered from the whole set compressed once.
          const all = {
            rowStart: h.heap.alloc(n + 1),
            cols: h.heap.alloc(n * width),
            values: h.heap.alloc(n * width),
          };
          h.k.sparse.csr_rows(at.x, width, 0, n, all.rowStart, all.cols, all.values, 1);
          const batch = {
            rowStart: h.heap.alloc(rows + 1),
            cols: h.heap.alloc(size),
            values: h.heap.alloc(size),
          };
          const gathered = h.k.sparse.csr_gather(
            all.rowStart,
            all.cols,
            all.values,
            at.idx,
            rows,
            batch.rowStart,
            batch.cols,
            batch.values,
          );
          assert.equal(gathered, nnz, `${label}: gathered nonzeros`);
          assert.deepEqual(h.i32(batch.rowStart, rows + 1), sparse.rowStart.slice(0, rows + 1));
          assert.deepEqual(h.i32(batch.cols, nnz), sparse.cols.slice(0, nnz));
          assert.deepEqual(h.f32(batch.values, nnz), sparse.values.slice(0, nnz));
          h.k.sparse.csr_to_csc(
            at.rowStart,
            at.cols,
            at.values,
            rows,
            width,
            at.colStart,
            at.colRows,
            at.colValues,
            4 * outDim,
          );
          // Both index arrays become byte offsets of the rows the products select.
          const offsets = (v: ArrayLike<number>) => Int32Array.from(v, (i) => i * 4 * outDim);
          assert.deepEqual(h.i32(at.colStart, width + 1), sparse.colStart, `${label}: colStart`);
          assert.deepEqual(h.i32(at.colRows, nnz), offsets(sparse.colRows.slice(0, nnz)));
          assert.deepEqual(h.i32(at.cols, nnz), offsets(sparse.cols.slice(0, nnz)));
          assert.deepEqual(h.f32(at.colValues, nnz), sparse.colValues.slice(0, nnz));
          // gather_columns: both in one call, from the whole set.
          const both = buffers();
          h.k.sparse.gather_columns(
            all.rowStart,
            all.cols,
            all.values,
            at.idx,
            rows,
            both.rowStart,
            both.cols,
            both.values,
            width,
            both.colStart,
            both.colRows,
            both.colValues,
            4 * outDim,
          );
          for (const key of ["rowStart", "cols", "colStart", "colRows"] as const) {
            const count = key === "rowStart" ? rows + 1 : key === "colStart" ? width + 1 : nnz;
            assert.deepEqual(h.i32(both[key], count), h.i32(at[key], count), `${label}: ${key}`);
          }
          assert.deepEqual(h.f32(both.values, nnz), h.f32(at.values, nnz));
          assert.deepEqual(h.f32(both.colValues, nnz), h.f32(at.colValues, nnz));
          const params = randomFloats(seed++, width * outDim + outDim);
          const pp = h.put(params);
          const bias = pp + 4 * width * outDim;
          for (let act = 0; act < 4; act++) {
            const out = h.heap.alloc(rows * outDim);
            h.k.sparse.csr_forward(
              at.rowStart,
              at.cols,
              at.values,
              rows,
              pp,
              bias,
              outDim,
              out,
              act,
            );
            const expected = new Float32Array(rows * outDim);
            forwardSparse(sparse, rows, params, 0, width * outDim, outDim, expected, CPU_CODE[act]);
            assertClose(h.f32(out, rows * outDim), expected, {
              ...TOL,
              label: `${label} act ${act}`,
            });
          }
          const delta = randomFloats(seed++, rows * outDim);
          const gw = h.heap.alloc(width * outDim);
          h.k.sparse.csc_grad(
            at.colStart,
            at.colRows,
            at.colValues,
            width,
            h.put(delta),
            outDim,
            gw,
          );
          const expected = new Float32Array(width * outDim + outDim);
          weightGradSparse(sparse, delta, rows, outDim, expected, 0, width * outDim);
          assertClose(h.f32(gw, width * outDim), expected.subarray(0, width * outDim), {
            ...TOL,
            label: `${label} weight gradient`,
          });
        }
      }
    }
    // Without indices the rows are taken in order (prediction): compressRows.
    h.reset();
    const x = randomFloats(7, 5 * 11, 0.7);
    const sparse: SparseRows<Float32Array> = makeSparseRows(11, 5, false, Float32Array);
    compressRows(x, 5, sparse);
    const rowStart = h.heap.alloc(6);
    const cols = h.heap.alloc(55);
    const values = h.heap.alloc(55);
    const nnz = h.k.sparse.csr_rows(h.put(x), 11, 0, 5, rowStart, cols, values, 1);
    assert.deepEqual(h.i32(rowStart, 6), sparse.rowStart);
    assert.deepEqual(h.i32(cols, nnz), sparse.cols.slice(0, nnz));
  });

  Deno.test(`wasm kernels (${variant}): softmax cross-entropy and MSE give the CPU's bits`, async () => {
    const h = await harness(variant);
    for (const rows of ROWS) {
      for (const classes of [1, 2, 3, 10, 17]) {
        h.reset();
        const logits = randomFloats(rows * 31 + classes, rows * classes).map((v) => 6 * v);
        if (classes > 2) logits[1] = logits[0]; // a tie: the first maximum counts
        const labels = Int32Array.from({ length: rows }, (_, b) => (b * 7) % classes);
        const grad = h.heap.alloc(rows * classes);
        const correct = h.heap.alloc(1);
        const loss = h.k.loss.softmax_xent(
          h.put(logits),
          h.put(labels),
          rows,
          classes,
          grad,
          correct,
        );
        const expectedGrad = new Float32Array(rows * classes);
        const hits = new Float64Array(1);
        const expected = softmaxLossRows(logits, labels, rows, classes, expectedGrad, hits, 0);
        const label = `softmax ${rows}x${classes}`;
        assert.equal(loss, expected, `${label}: loss`);
        assert.deepEqual(h.f32(grad, rows * classes), expectedGrad, `${label}: gradient`);
        assert.equal(h.f32(correct, 1)[0], hits[0], `${label}: correct`);

        const targets = randomFloats(classes, rows * classes);
        const mseGrad = h.heap.alloc(rows * classes);
        const mse = h.k.loss.mse(h.put(logits), h.put(targets), rows * classes, mseGrad);
        const g = new Float32Array(rows * classes);
        const expectedMse = meanSquaredError({
          outputs: logits,
          targets,
          rows,
          dim: classes,
          grad: g,
        });
        assert.equal(mse, expectedMse, `mse ${rows}x${classes}`);
        assert.deepEqual(h.f32(mseGrad, rows * classes), g);
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): the soft-target cross-entropy gives the CPU's bits and the reference's values`, async () => {
    const h = await harness(variant);
    let checked = 0;
    for (const rows of [...ROWS, 65]) {
      for (const classes of [1, 2, 3, 10, 17]) {
        for (const t of [0.25, 1, 2.5, 7]) {
          h.reset();
          const seed = rows * 131 + classes * 7 + Math.round(4 * t);
          const logits = randomFloats(seed, rows * classes).map((v) => 6 * v);
          // Target rows: softmax of random scores (peaked or flat), with a one-hot row and ties.
          const scores = randomFloats(seed + 1, rows * classes);
          const targets = new Float32Array(rows * classes);
          for (let b = 0; b < rows; b++) {
            const sharp = 1 + (b % 4);
            let sum = 0;
            for (let c = 0; c < classes; c++) sum += Math.exp(sharp * scores[b * classes + c]);
            for (let c = 0; c < classes; c++) {
              targets[b * classes + c] = Math.exp(sharp * scores[b * classes + c]) / sum;
            }
          }
          targets.fill(0, 0, classes);
          targets[classes - 1] = 1; // one-hot
          if (classes > 2) {
            logits[1] = logits[0]; // a tie of logits: the first maximum counts
            if (rows > 1) targets[classes + 2] = targets[classes] = 0.5; // a tie of targets
          }
          if (rows > 2) logits[2 * classes] = 40; // large / T: the row max keeps exp finite
          const grad = h.heap.alloc(rows * classes);
          const correct = h.heap.alloc(1);
          const loss = h.k.loss.softmax_xent_soft(
            h.put(logits),
            h.put(targets),
            rows,
            classes,
            t,
            grad,
            correct,
          );
          const expectedGrad = new Float32Array(rows * classes);
          const hits = new Float64Array(1);
          const expected = softmaxXentSoftRows(
            logits,
            targets,
            rows,
            classes,
            t,
            expectedGrad,
            hits,
            0,
          );
          const label = `soft ${rows}x${classes} T=${t}`;
          const got = h.f32(grad, rows * classes);
          assert.equal(loss, expected, `${label}: loss`);
          assert.deepEqual(got, expectedGrad, `${label}: gradient`);
          assert.equal(h.f32(correct, 1)[0], hits[0], `${label}: agreement`);
          const ref = softmaxXentSoftRef(logits, targets, rows, classes, t);
          assertClose([loss], [ref.loss], { rel: 1e-12, abs: 1e-12, label: `${label}: ref loss` });
          assertClose(got, ref.grad, { rel: 1e-6, abs: 1e-7, label: `${label}: ref gradient` });
          assert.equal(h.f32(correct, 1)[0], ref.agree, `${label}: ref agreement`);
          assert.ok(Number.isFinite(loss) && loss >= 0, `${label}: loss ${loss}`);
          checked++;
        }
      }
    }
    assert.equal(checked, 6 * 5 * 4);
  });

  Deno.test(`wasm kernels (${variant}): combine is the weighted softmax (or identity) sum`, async () => {
    const h = await harness(variant);
    for (const softmax of [0, 1]) {
      for (const [rows, width] of [[1, 1], [3, 10], [5, 3]]) {
        h.reset();
        const result = randomFloats(rows + width, rows * width).map((v) => 4 * v);
        const start = randomFloats(9, rows * width);
        const out = h.put(start);
        h.k.loss.combine(h.put(result), rows, width, softmax, out, 0.25, 1);
        const expected = new Float64Array(rows * width);
        for (let b = 0; b < rows; b++) {
          const row = Array.from(result.subarray(b * width, (b + 1) * width));
          const max = Math.max(...row);
          const e = row.map((v) => softmax ? Math.exp(v - max) : v);
          const sum = softmax ? e.reduce((s, v) => s + v, 0) : 1;
          e.forEach((v, c) => expected[b * width + c] = start[b * width + c] + 0.25 * v / sum);
        }
        assertClose(h.f32(out, rows * width), expected, { rel: 1e-6, abs: 1e-7, label: "combine" });
        const fresh = h.heap.alloc(rows * width);
        h.k.loss.combine(h.put(result), rows, width, softmax, fresh, 0.25, 0);
        const alone = expected.map((v, k) => v - start[k]);
        assertClose(h.f32(fresh, rows * width), alone, {
          rel: 1e-6,
          abs: 1e-6,
          label: "combine store",
        });
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): SGD, Adam and AdamW updates give the reference's bits`, async () => {
    const h = await harness(variant);
    const optimizers: Optimizer[] = [
      sgd(),
      sgd({ weightDecay: 0.01 }),
      sgd({ momentum: 0.9 }),
      sgd({ momentum: 0.9, weightDecay: 1e-3 }),
      sgd({ momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
      sgd({ momentum: 0.8, convention: "pytorch", weightDecay: 1e-3 }),
      sgd({ momentum: 0.8, convention: "pytorch", nesterov: true }),
      adam(),
      adam({ weightDecay: 1e-2, beta1: 0.5 }),
      adamw(),
      adamw({ weightDecay: 0.1, epsilon: 1e-3 }),
    ];
    for (const optimizer of optimizers) {
      for (const count of [1, 2, 7, 10, 16, 33]) {
        const replicas = 2;
        const stateSize = optimizer.kind === "adam"
          ? 2 * count + 1
          : optimizer.momentum === 0
          ? 0
          : count;
        const params = randomFloats(count, replicas * count);
        const expectedParams = params.slice();
        const expectedState = new Float32Array(replicas * stateSize);
        h.reset();
        const pp = h.put(params);
        const ps = h.put(expectedState);
        const pg = h.heap.alloc(count);
        const f32 = new Float32Array(h.heap.memory.buffer);
        const update = WASM_UPDATES[optimizer.kind]! as (
          k: WasmKernels,
          o: Optimizer,
          at: { params: number; grads: number; state: number; count: number; f32: Float32Array },
          lr: number,
        ) => void;
        for (let step = 0; step < 4; step++) {
          const grads = randomFloats(50 + step, count);
          h.heap.f32(pg, count).set(grads);
          const lr = Math.fround(0.1 / (step + 1));
          for (let r = 0; r < replicas; r++) {
            const at = {
              params: pp + 4 * r * count,
              grads: pg,
              state: ps + 4 * r * stateSize,
              count,
              f32,
            };
            update(h.k, optimizer, at, lr);
            applyUpdate(optimizer, expectedParams, grads, expectedState, lr, r);
          }
        }
        const label = `${JSON.stringify(optimizer)} count ${count}`;
        assert.deepEqual(h.f32(pp, replicas * count), expectedParams, `${label}: params`);
        assert.deepEqual(h.f32(ps, replicas * stateSize), expectedState, `${label}: state`);
      }
    }
  });

  Deno.test(`wasm kernels (${variant}): dropout draws fillDropoutMask's masks and applies them with applyMask's bits`, async () => {
    const h = await harness(variant);
    const widths = [1, 2, 3, 4, 5, 7, 8, 13, 33, 40];
    const rates = [0, 0.1, 0.37, 0.5, 0.9, 0.999999999];
    // [seed, global step, replica, layer]: steps past 2^32 wrap as the reference's `^` does.
    const keys = [[0, 0, 0, 0], [12345, 1000, 1, 1], [2 ** 33 + 5, 2 ** 33 + 7, 3, 2], [
      9,
      2 ** 20,
      0,
      3,
    ]];
    const GUARD = 4; // floats after the output that must stay untouched
    let seed = 1;
    for (const rows of ROWS) {
      for (const width of widths) {
        const count = rows * width;
        const a = randomFloats(seed++, count, 0.1);
        // Signed zeros, a subnormal and a large value: the factor multiplies, it never selects.
        a[0] = -0;
        if (count > 1) a[1] = -1e-40;
        if (count > 2) a[count - 1] = -3e38;
        const bits = (v: Float32Array) => [...new Uint32Array(v.buffer, v.byteOffset, v.length)];
        for (const rate of rates) {
          for (const [s, step, replica, layer] of keys) {
            const seedKey = dropoutSeedKey(s);
            const mask = new Float32Array(count);
            fillDropoutMask(mask, rows, width, seedKey, step, replica, layer, rate);
            const expected = new Float32Array(count);
            applyMask(a, mask, count, expected);
            const label = `dropout ${rows}x${width} rate ${rate} keys ${[s, step, replica, layer]}`;
            h.reset();
            const pa = h.put(a);
            const out = h.put(new Float32Array(count + GUARD).fill(7));
            h.k.dropout.dropout(pa, rows, width, seedKey, step, replica, layer, rate, out);
            assert.deepEqual(bits(h.f32(out, count)), bits(expected), `${label}: forward`);
            assert.deepEqual([...h.f32(out + 4 * count, GUARD)], [7, 7, 7, 7], `${label}: guard`);
            // Backward: in place on a gradient, the same draws.
            h.k.dropout.dropout(pa, rows, width, seedKey, step, replica, layer, rate, pa);
            assert.deepEqual(bits(h.f32(pa, count)), bits(expected), `${label}: in place`);
            // On ones, the output is the mask itself.
            const ones = h.put(new Float32Array(count).fill(1));
            h.k.dropout.dropout(ones, rows, width, seedKey, step, replica, layer, rate, ones);
            assert.deepEqual(h.f32(ones, count), mask, `${label}: mask`);
          }
        }
      }
    }
    // The sweep drew both decisions at every rate but the extremes (the test can fail).
    const mask = new Float32Array(9 * 40);
    fillDropoutMask(mask, 9, 40, dropoutSeedKey(1), 3, 0, 0, 0.5);
    assert.ok(mask.some((m) => m === 0) && mask.some((m) => m === 2));
  });
}

Deno.test("wasm kernels: a heap past wasm32's 4 GiB is a SnapfoldError, not a RangeError", () => {
  const heap = new WasmHeap();
  assert.throws(
    () => heap.alloc(2 ** 30 + 1),
    (e) => e instanceof SnapfoldError && /4 GiB/.test(String(e)),
  );
});

Deno.test("wasm split: every split kernel cut anywhere gives the whole kernel's bits, and the shares are the parts' work", async () => {
  // The pool moves its cuts with the threads' speeds (lib/backend/wasm/_threads.ts rebalance), so
  // every cut must give the same bits: run the parts one after another at uneven cuts.
  const h = await harness("relaxed");
  // Large enough that every kernel is split into four parts (at least 65536 multiply-adds and
  // 16384 parameters a part).
  const rows = 128, width = 77, n = 180;
  const x = randomFloats(11, rows * width, 0.8);
  const rowStart = h.heap.alloc(rows + 1), cols = h.heap.alloc(rows * width + 1);
  const values = h.heap.alloc(rows * width + 1), colStart = h.heap.alloc(width + 1);
  const colRows = h.heap.alloc(rows * width + 1), colValues = h.heap.alloc(rows * width + 1);
  h.k.sparse.csr_rows(h.put(x), width, 0, rows, rowStart, cols, values, 1);
  h.k.sparse.csr_to_csc(rowStart, cols, values, rows, width, colStart, colRows, colValues, 4 * n);
  const w = h.put(randomFloats(12, width * n)), bias = h.put(randomFloats(13, n));
  const dense = h.put(randomFloats(14, rows * width)), delta = h.put(randomFloats(15, rows * n));
  const P = 4 * 16384 + 6;
  const grads = h.put(randomFloats(16, P));
  const params = h.put(randomFloats(17, P)), state = h.put(randomFloats(18, 3 * P));
  const out = h.heap.alloc(Math.max(rows * n, width * n));
  const calls: Array<[string, (k: WasmKernels) => void, () => Float32Array]> = [
    [
      "csr_forward",
      (k) => k.sparse.csr_forward(rowStart, cols, values, rows, w, bias, n, out, 1),
      () => h.f32(out, rows * n),
    ],
    [
      "csc_grad",
      (k) => k.sparse.csc_grad(colStart, colRows, colValues, width, delta, n, out),
      () => h.f32(out, width * n),
    ],
    [
      "gemm",
      (k) => k.dense.gemm(dense, rows, width, w, bias, n, out, 2),
      () => h.f32(out, rows * n),
    ],
    [
      "sgd",
      (k) => k.update.sgd(params, grads, state, P, 0.1, 0.9, 1e-3, 1),
      () => h.f32(params, P),
    ],
    [
      "adam",
      (k) =>
        k.update.adam(params, grads, state, state + 4 * P, P, 0.01, 0.9, 0.9, 0.99, 1e-8, 0, 1),
      () => h.f32(state, 2 * P),
    ],
  ];
  const snapshot = () => Float32Array.from([...h.f32(params, P), ...h.f32(state, 3 * P)]);
  for (const cuts of [[0, 0.13, 1], [0, 0.87, 1], [0, 0.3, 0.55, 1], [0, 0.05, 0.1, 0.95, 1]]) {
    let shares: ReadonlyArray<number> = [];
    let parts: ReadonlyArray<ReadonlyArray<number>> = [];
    const pool = {
      cuts: () => cuts,
      run(
        op: SplitOp,
        p: ReadonlyArray<ReadonlyArray<number>>,
        self: () => void,
        s?: ReadonlyArray<number>,
      ) {
        parts = p, shares = s ?? [];
        self();
        const module = op === "gemm" ? "dense" : op.startsWith("cs") ? "sparse" : "update";
        const own = (h.k[module] as unknown as Record<string, (...a: number[]) => void>)[op];
        for (let t = 1; t < p.length; t++) own(...p[t]);
      },
    };
    const split = splitKernels(h.k, pool, h.heap.memory);
    for (const [name, call, read] of calls) {
      const before = snapshot();
      call(h.k);
      const whole = read();
      h.heap.f32(params, P).set(before.subarray(0, P));
      h.heap.f32(state, 3 * P).set(before.subarray(P));
      parts = [];
      call(split);
      const label = `${name} at ${cuts}`;
      assert.equal(parts.length, cuts.length - 1, `${label}: split`);
      assert.deepEqual(read(), whole, label);
      assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-12, `${label}: shares`);
      for (let t = 0; t < shares.length; t++) {
        assert.ok(Math.abs(shares[t] - (cuts[t + 1] - cuts[t])) < 0.1, `${label}: share ${t}`);
      }
    }
  }
});

Deno.test("wasm split: kernels too small to repay a Worker's hand-off run whole on the calling thread", async () => {
  const h = await harness("relaxed");
  let splits = 0;
  const pool = { cuts: () => [0, 0.5, 1], run: () => void splits++ };
  const split = splitKernels(h.k, pool, h.heap.memory);
  const sized = (rows: number, k: number, n: number) => {
    const x = h.put(randomFloats(1, rows * k)), w = h.put(randomFloats(2, k * n));
    const out = h.heap.alloc(rows * n);
    const before = splits;
    split.dense.gemm(x, rows, k, w, 0, n, out, 1);
    return splits > before;
  };
  // The tutorial's layers (32 rows of 2 -> 25 -> 3) and a product of 32 thousand multiply-adds.
  assert.equal(sized(32, 2, 25), false);
  assert.equal(sized(32, 25, 3), false);
  assert.equal(sized(64, 16, 32), false);
  // MNIST's output layer (128 x 256 x 10) and larger.
  assert.equal(sized(128, 256, 10), true);
  assert.equal(sized(64, 64, 64), true);
  // A sparse batch with few nonzeros, and the updates of a small model.
  const rows = 32, width = 20, n = 25;
  const x = randomFloats(3, rows * width, 0.8);
  const rowStart = h.heap.alloc(rows + 1), cols = h.heap.alloc(rows * width + 1);
  const values = h.heap.alloc(rows * width + 1);
  h.k.sparse.csr_rows(h.put(x), width, 0, rows, rowStart, cols, values, 1);
  const out = h.heap.alloc(rows * n), w = h.put(randomFloats(4, width * n));
  split.sparse.csr_forward(rowStart, cols, values, rows, w, 0, n, out, 1);
  const params = h.put(randomFloats(5, 30000)), grads = h.put(randomFloats(6, 30000));
  split.update.sgd(params, grads, h.heap.alloc(30000), 30000, 0.1, 0.9, 0, 1);
  assert.equal(splits, 2);
});

Deno.test("wasm split: rebalance moves the cuts a quarter of the way toward equal times, keeping 5% per thread and giving an empty part work back", () => {
  const close = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
    a.every((v, t) => Math.abs(v - b[t]) < 1e-12);
  // Equal times: the cuts stay.
  assert.ok(close(rebalance([0, 0.5, 1], [0.5, 0.5], [3, 3]), [0, 0.5, 1]));
  // Three threads, the last twice as slow: speeds 1/3 : 1/3 : 1/6 of the work per ms.
  const three = rebalance([0, 1 / 3, 2 / 3, 1], [1 / 3, 1 / 3, 1 / 3], [1, 1, 2]);
  const want = [0.4, 0.4, 0.2].map((goal) => 1 / 3 + 0.25 * (goal - 1 / 3));
  assert.ok(close(three, [0, want[0], want[0] + want[1], 1]), `${three}`);
  // A thread that crawls keeps 5% exactly; times of 0 count as 1 µs.
  const crawl = rebalance([0, 0.05, 1], [0.05, 0.95], [100, 1]);
  assert.ok(close(crawl, [0, 0.05, 1]), `${crawl}`);
  const three5 = rebalance([0, 0.05, 0.1, 1], [0.05, 0.05, 0.9], [100, 100, 1]);
  assert.ok(close(three5, [0, 0.05, 0.1, 1]), `${three5}`);
  // A part whose cut rounded to no work counts at the others' mean speed and gets work back; it
  // is not stuck at the floor once the threads run alike again (the pool outlives sessions).
  let cuts = [0, 0.05, 1];
  for (let run = 0; run < 40; run++) cuts = rebalance(cuts, [0, 1], [0, 5]);
  assert.ok(close(cuts, [0, 0.5, 1]) || Math.abs(cuts[1] - 0.5) < 1e-3, `${cuts}`);
  // Nothing measured: the cuts stay.
  assert.deepEqual(rebalance([0, 0.3, 1], [0, 0], [1, 1]), [0, 0.3, 1]);
  assert.ok(rebalance([0, 0.5, 1], [0.5, 0.5], [0, 0]).every(Number.isFinite));
});
