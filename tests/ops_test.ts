/**
 * Every kernel against its reference: one table of (reference, fast CPU twin, WGSL kernel) per
 * shader in `shaders/`, each swept over shapes that include sizes not divisible by the 4x4 tiles
 * or the 64-invocation workgroups and batch 1. The table is typed by the generated `ShaderName`,
 * and a test also fails at run time when a shader has no entry, or when its `Mirrors:` line does
 * not name its reference.
 */
import { softmaxXentSoftRef, softmaxXentSoftRows } from "../lib/ops/softmax_xent_soft.ts";
import assert from "node:assert/strict";
import { assertClose } from "./_backend_cases.ts";
import { type KernelRig, kernelRig, runCalls } from "./_kernel_harness.ts";
import { type ShaderName, SHADERS } from "../lib/backend/webgpu/_shaders.ts";
import { type ActivationCode, ACTIVATIONS } from "../lib/ops/activation.ts";
import { combineMeanCall, combineMeanRef } from "../lib/ops/combine.ts";
import {
  denseBackpropRef,
  denseForwardCall,
  denseForwardRef,
  denseGradCalls,
  denseWeightGradRef,
} from "../lib/ops/dense.ts";
import { applyMask, dropoutCall, dropoutSeedKey, fillDropoutMask } from "../lib/ops/dropout.ts";
import { gatherCall, gatherRef } from "../lib/ops/gather.ts";
import { gatherShiftRef } from "../lib/ops/shift.ts";
import { gatherShifted } from "../lib/backend/wasm/_shift_gather.ts";
import {
  countCorrect,
  lossCall,
  meanSquaredError,
  softmaxCall,
  softmaxCrossEntropy,
  softmaxLossRows,
  softmaxRows,
} from "../lib/ops/loss.ts";
import { optimizerResetCall, optimizerResetRef } from "../lib/ops/optimizer_reset.ts";
import { backpropDense, forwardDense, weightGradDense } from "../lib/ops/_dense_blocked.ts";
import {
  compressGathered,
  compressRows,
  forwardSparse,
  makeSparseRows,
} from "../lib/ops/_dense_sparse.ts";
import { optimizerCalls } from "../lib/backend/webgpu/_programs.ts";
import { ADAM, adam, adamw } from "../lib/optimizers/adam.ts";
import { SGD, sgd } from "../lib/optimizers/sgd.ts";
import { optimizerStateSize, ruleOf } from "../lib/optimizers/mod.ts";
import type { Optimizer } from "../lib/optimizers/mod.ts";
import { randomState } from "../mod.ts";

/** One kernel's triple: its reference, its fast CPU twin (or why none), and its sweep. */
interface Twin {
  /** The reference function the shader's `Mirrors:` line names. */
  readonly reference: (...args: never[]) => unknown;
  /** The fast CPU twin, or a sentence saying what the CPU runs instead. */
  readonly fast: ((...args: never[]) => unknown) | string;
  /** Runs the sweep: reference vs fast vs WGSL; or names the test file that does. */
  readonly sweep: ((rig: KernelRig) => Promise<void>) | { readonly coveredBy: string };
}

const ROWS = [1, 3, 5, 17, 67];
const WIDTHS = [1, 3, 5, 9, 26];
const CODES: ActivationCode[] = [0, 1, 2, 3];

function normals(count: number, seed: number, zeros = 0): Float32Array {
  const random = randomState(seed);
  return new Float32Array(count).map(() => random.uniform(0, 1) < zeros ? 0 : random.normal(0, 1));
}

/** (rows, inDim, outDim, act) over the sweep, a few hundred cases at most. */
function* shapes(): Generator<
  { rows: number; inDim: number; outDim: number; act: ActivationCode }
> {
  let k = 0;
  for (const rows of ROWS) {
    for (const inDim of WIDTHS) {
      for (const outDim of [WIDTHS[k % 5], WIDTHS[(k + 2) % 5]]) {
        yield { rows, inDim, outDim, act: CODES[k++ % 4] };
      }
    }
  }
}

const TOL = { rel: 1e-5, abs: 1e-5 };

function denseShape(inDim: number, outDim: number, layer = 1) {
  const wOff = 3; // a nonzero offset: a kernel that ignores W_OFF fails
  const bOff = wOff + inDim * outDim;
  return {
    layer,
    inDim,
    outDim,
    weightOffset: wOff,
    biasOffset: bOff,
    paramStride: bOff + outDim,
    depth: 1,
  };
}

async function sweepDenseForward(rig: KernelRig): Promise<void> {
  for (const { rows, inDim, outDim, act } of shapes()) {
    const shape = denseShape(inDim, outDim);
    const params = normals(shape.paramStride, rows + inDim, 0);
    const x = normals(rows * inDim, outDim, 0.5);
    const { weightOffset: w, biasOffset: b } = shape;
    const expected = denseForwardRef(x, rows, params, w, b, inDim, outDim, act);
    const label = `dense_forward ${rows}x${inDim}->${outDim} act ${act}`;
    const fast = new Float32Array(rows * outDim);
    forwardDense(x, rows, params, w, b, inDim, outDim, fast, act);
    assertClose(fast, expected, { ...TOL, label: `${label} forwardDense` });
    const sparse = makeSparseRows<Float32Array>(inDim, rows, false, Float32Array);
    compressRows(x, rows, sparse);
    const viaSparse = new Float32Array(rows * outDim);
    forwardSparse(sparse, rows, params, w, b, outDim, viaSparse, act);
    assertClose(viaSparse, expected, { ...TOL, label: `${label} forwardSparse` });
    const call = denseForwardCall(shape, { act, input: "batch", output: { act: 1 } }, {
      IN_ROW: inDim,
      IN_REP: 0,
      OUT_ROW: outDim,
      OUT_REP: outDim,
    });
    const got = await runCalls(rig, [call], {
      params,
      batch: x,
      "act 1": new Float32Array(rows * outDim),
    }, { batch: rows });
    assertClose(got["act 1"], expected, { ...TOL, label: `${label} WGSL` });
  }
}

async function sweepWeightGrad(rig: KernelRig): Promise<void> {
  for (const { rows, inDim, outDim } of shapes()) {
    const shape = denseShape(inDim, outDim);
    const x = normals(rows * inDim, rows, 0.3);
    const delta = normals(rows * outDim, inDim);
    const expected = denseWeightGradRef(x, delta, rows, inDim, outDim);
    const label = `dense_grad_weights/bias_grad ${rows}x${inDim}->${outDim}`;
    const fast = new Float32Array(shape.paramStride);
    weightGradDense(x, delta, rows, inDim, outDim, fast, shape.weightOffset, shape.biasOffset);
    assertClose(fast.subarray(shape.weightOffset), expected, { ...TOL, label: `${label} fast` });
    const calls = denseGradCalls(shape, { input: "batch", prevAct: 0 });
    assert.deepEqual(calls.map((c) => c.shader), ["dense_grad_weights", "bias_grad"]);
    const got = await runCalls(rig, calls, {
      batch: x,
      "delta 1": delta,
      grads: new Float32Array(shape.paramStride).fill(NaN), // overwritten, not accumulated
    }, { batch: rows });
    assertClose(got.grads.subarray(shape.weightOffset), expected, {
      ...TOL,
      label: `${label} WGSL`,
    });
  }
}

async function sweepBackprop(rig: KernelRig): Promise<void> {
  for (const { rows, inDim, outDim, act } of shapes()) {
    const shape = denseShape(inDim, outDim, 2);
    const params = normals(shape.paramStride, inDim * 7 + rows);
    const delta = normals(rows * outDim, outDim);
    // `a` must be an activation's output for f'(a) to mean anything: act(z).
    const f = Object.values(ACTIVATIONS).find((d) => d.code === act)!.f;
    const a = normals(rows * inDim, act + 11).map(f);
    const w = shape.weightOffset;
    const expected = denseBackpropRef(delta, rows, params, w, inDim, outDim, a, act);
    const label = `dense_grad_input ${rows}x${inDim}<-${outDim} act ${act}`;
    const fast = new Float32Array(rows * inDim);
    backpropDense(delta, rows, params, w, inDim, outDim, a, act, fast);
    assertClose(fast, expected, { ...TOL, label: `${label} backpropDense` });
    const call = denseGradCalls(shape, { input: { act: 1 }, prevAct: act })[2];
    assert.equal(call.shader, "dense_grad_input");
    const got = await runCalls(rig, [call], {
      params,
      "delta 2": delta,
      "act 1": a,
      "delta 1": new Float32Array(rows * inDim),
    }, { batch: rows });
    assertClose(got["delta 1"], expected, { ...TOL, label: `${label} WGSL` });
  }
}

async function sweepGather(rig: KernelRig): Promise<void> {
  for (const { rows, inDim } of shapes()) {
    const n = rows + 4;
    const x = normals(n * inDim, rows, 0.6);
    const start = 2;
    const indices = new Int32Array(start + rows).map((_, k) => (k * 5 + 1) % n);
    const expected = gatherRef(x, indices, start, rows, inDim);
    const sparse = makeSparseRows<Float32Array>(inDim, rows, false, Float32Array);
    compressGathered(x, indices, start, rows, sparse);
    const dense = new Float32Array(rows * inDim);
    for (let b = 0; b < rows; b++) {
      for (let k = sparse.rowStart[b]; k < sparse.rowStart[b + 1]; k++) {
        dense[b * inDim + sparse.cols[k]] = sparse.values[k];
      }
    }
    const label = `gather ${rows}x${inDim}`;
    assertClose(dense, expected, { rel: 0, abs: 0, label: `${label} compressGathered` });
    const got = await runCalls(rig, [gatherCall(inDim)], {
      x,
      indices,
      batch: new Float32Array(rows * inDim),
    }, { batch: rows, start });
    assertClose(got.batch, expected, { rel: 0, abs: 0, label: `${label} WGSL` });
  }
}

async function sweepLossHeads(rig: KernelRig): Promise<void> {
  for (const { rows, outDim: width } of shapes()) {
    const classes = width + 1;
    const n = rows + 3;
    const start = 1;
    const indices = new Int32Array(start + rows).map((_, k) => (k * 3 + 2) % n);
    const logits = normals(rows * classes, rows + classes);
    const labelsAll = new Int32Array(n).map((_, k) => (k * 7) % classes);
    const labels = Int32Array.from({ length: rows }, (_, b) => labelsAll[indices[start + b]]);
    const grad = new Float64Array(rows * classes);
    const loss = softmaxCrossEntropy({ logits, labels, rows, classes, grad });
    const correct = countCorrect({ scores: logits, labels, rows, classes });
    const label = `softmax_xent ${rows}x${classes}`;
    const fastGrad = new Float32Array(rows * classes);
    const fastCorrect = new Float32Array(1);
    const fastLoss = softmaxLossRows(logits, labels, rows, classes, fastGrad, fastCorrect, 0);
    assertClose([fastLoss, fastCorrect[0]], [loss, correct], { ...TOL, label: `${label} fast` });
    assertClose(fastGrad, grad, { ...TOL, label: `${label} fast gradient` });
    const call = lossCall("softmax", { layers: 1, outDim: classes, replicas: 1 });
    const inputs = {
      "act 1": logits,
      y: labelsAll,
      indices,
      "delta 1": new Float32Array(rows * classes),
      stats: new Float32Array(4),
    };
    const got = await runCalls(rig, [call], inputs, { batch: rows, start, row: 1 });
    assertClose(got["delta 1"], grad, { ...TOL, label: `${label} WGSL gradient` });
    assertClose(got.stats.subarray(2, 4), [loss, correct], {
      ...TOL,
      label: `${label} WGSL stats`,
    });
    // The linear head: mean squared error over the gathered targets.
    const targetsAll = normals(n * width, n);
    const targets = new Float32Array(rows * width);
    for (let b = 0; b < rows; b++) {
      targets.set(
        targetsAll.subarray(indices[start + b] * width, (indices[start + b] + 1) * width),
        b * width,
      );
    }
    const outputs = normals(rows * width, width);
    const mseGrad = new Float64Array(rows * width);
    const mse = meanSquaredError({ outputs, targets, rows, dim: width, grad: mseGrad });
    const mseCall = lossCall("linear", { layers: 1, outDim: width, replicas: 1 });
    const gotMse = await runCalls(rig, [mseCall], {
      "act 1": outputs,
      y: targetsAll,
      indices,
      "delta 1": new Float32Array(rows * width),
      stats: new Float32Array(2),
    }, { batch: rows, start });
    assertClose(gotMse["delta 1"], mseGrad, { ...TOL, label: `mse ${rows}x${width} gradient` });
    assertClose(gotMse.stats, [mse, 0], { ...TOL, label: `mse ${rows}x${width} stats` });
  }
}

async function sweepPrediction(rig: KernelRig): Promise<void> {
  for (const { rows, outDim } of shapes()) {
    const members = 1 + (rows % 3);
    const stride = rows * outDim;
    const logits = normals(members * stride, rows * 13 + outDim);
    const expected = new Float64Array(logits);
    for (let m = 0; m < members; m++) {
      softmaxRows(expected.subarray(m * stride, (m + 1) * stride), outDim);
    }
    const shape = { layers: 1, outDim, members, rows };
    const got = await runCalls(rig, [softmaxCall(shape)], { "act 1": logits }, { batch: rows });
    assertClose(got["act 1"], expected, { ...TOL, label: `softmax ${members}x${rows}x${outDim}` });
    const weights = new Float32Array(members).map((_, m) =>
      (m + 1) / (members * (members + 1) / 2)
    );
    const mean = combineMeanRef(expected, weights, rows, outDim, stride);
    const combined = await runCalls(rig, [combineMeanCall(shape)], {
      "act 1": new Float32Array(expected),
      weights,
      mean: new Float32Array(stride),
    }, { batch: rows });
    assertClose(combined.mean, mean, {
      ...TOL,
      label: `combine_mean ${members}x${rows}x${outDim}`,
    });
  }
}

async function sweepDropout(rig: KernelRig): Promise<void> {
  for (const { rows, outDim: width } of shapes()) {
    const rate = [0.1, 0.5, 0.8][rows % 3];
    const seedKey = dropoutSeedKey(rows * 31 + width);
    const a = normals(rows * width, width);
    const mask = new Float32Array(rows * width);
    fillDropoutMask(mask, rows, width, seedKey, 7 + 2, 0, 0, rate); // first step 7, step 2
    const expected = new Float32Array(rows * width);
    applyMask(a, mask, rows * width, expected);
    const shape = { layer: 0, width, replicas: 1, rate, seedKey };
    const inputs = {
      firstStep: new Uint32Array([7]),
      "act 1": a,
      "dropped 1": new Float32Array(rows * width),
      "delta 1": a.slice(),
    };
    const got = await runCalls(rig, [dropoutCall(shape, 0), dropoutCall(shape, 1)], inputs, {
      batch: rows,
      step: 2,
    });
    const label = `dropout ${rows}x${width} rate ${rate}`;
    assertClose(got["dropped 1"], expected, { rel: 0, abs: 0, label: `${label} forward` });
    assertClose(got["delta 1"], expected, { rel: 0, abs: 0, label: `${label} backward` });
  }
}

async function sweepOptimizers(rig: KernelRig): Promise<void> {
  const rules: Optimizer[] = [
    sgd(),
    sgd({ momentum: 0.9, nesterov: true }),
    sgd({ momentum: 0.5, convention: "pytorch", weightDecay: 0.01 }),
    adam(),
    adamw({ weightDecay: 0.05 }),
  ];
  for (const [k, optimizer] of rules.entries()) {
    for (const [P, R] of [[1, 1], [67, 2], [130, 1]]) {
      const S = optimizerStateSize(optimizer, P);
      const params = normals(R * P, k + P);
      const grads = normals(R * P, k + P + 1);
      const state = new Float32Array(R * S).map((_, j) => (j % 3) * 0.01);
      const lr = 0.05;
      const rule = ruleOf(optimizer);
      const expected = { params: params.slice(), state: state.slice() };
      const fast = { params: params.slice(), state: state.slice() };
      for (let r = 0; r < R; r++) {
        const g = grads.subarray(r * P, (r + 1) * P);
        rule.update(optimizer, expected.params, g, expected.state, lr, r);
        (rule.fastUpdate ?? rule.update)(optimizer, fast.params, g, fast.state, lr, r);
      }
      const label = `${optimizer.kind} #${k} P ${P} R ${R}`;
      assertClose(fast.params, expected.params, { rel: 0, abs: 0, label: `${label} fast` });
      const got = await runCalls(rig, optimizerCalls(optimizer, P, R), {
        params,
        grads,
        state: state.length > 0 ? state : new Float32Array(1),
        lrs: new Float32Array([lr]),
      }, { batch: 1 });
      assertClose(got.params, expected.params, { rel: 1e-5, abs: 1e-6, label: `${label} WGSL` });
      if (S > 0) assertClose(got.state, expected.state, { ...TOL, label: `${label} WGSL state` });
    }
  }
}

async function sweepReset(rig: KernelRig): Promise<void> {
  for (const total of [1, 63, 64, 65, 200]) {
    const state = normals(total, total);
    const got = await runCalls(rig, [optimizerResetCall(total)], { state }, { batch: 1 });
    optimizerResetRef(state);
    assertClose(got.state, state, { rel: 0, abs: 0, label: `optimizer_reset ${total}` });
  }
}

const SHARED_OPTIMIZER_SWEEP = sweepOptimizers;

/** The table: one entry per shader, typed so that a missing shader fails `deno check`. */
export const TWINS: { readonly [K in ShaderName]: Twin } = {
  adam: { reference: ADAM.update, fast: "ADAM has no fast twin", sweep: SHARED_OPTIMIZER_SWEEP },
  adam_tick: { reference: ADAM.update, fast: "part of ADAM.update", sweep: SHARED_OPTIMIZER_SWEEP },
  bias_grad: { reference: denseWeightGradRef, fast: weightGradDense, sweep: sweepWeightGrad },
  combine_mean: {
    reference: combineMeanRef,
    fast: "the CPU backend combines inside its stacked prediction (predictStackedCpu)",
    sweep: sweepPrediction,
  },
  dense_forward: { reference: denseForwardRef, fast: forwardDense, sweep: sweepDenseForward },
  dense_grad_input: { reference: denseBackpropRef, fast: backpropDense, sweep: sweepBackprop },
  dense_grad_weights: {
    reference: denseWeightGradRef,
    fast: weightGradDense,
    sweep: sweepWeightGrad,
  },
  dropout: {
    reference: fillDropoutMask,
    fast: "the CPU runs the reference mask itself",
    sweep: sweepDropout,
  },
  gather: { reference: gatherRef, fast: compressGathered, sweep: sweepGather },
  gather_shift: {
    reference: gatherShiftRef,
    fast: gatherShifted,
    sweep: { coveredBy: "tests/shift_test.ts" },
  },
  mse: { reference: meanSquaredError, fast: "the CPU runs the reference", sweep: sweepLossHeads },
  optimizer_reset: {
    reference: optimizerResetRef,
    fast: "the CPU runs the reference",
    sweep: sweepReset,
  },
  sgd: { reference: SGD.update, fast: SGD.fastUpdate!, sweep: SHARED_OPTIMIZER_SWEEP },
  softmax: {
    reference: softmaxRows,
    fast: "the CPU softmax runs inside its stacked prediction",
    sweep: sweepPrediction,
  },
  softmax_xent: { reference: softmaxCrossEntropy, fast: softmaxLossRows, sweep: sweepLossHeads },
  softmax_xent_soft: {
    reference: softmaxXentSoftRef,
    fast: softmaxXentSoftRows,
    sweep: { coveredBy: "tests/softmax_xent_soft_test.ts" },
  },
  train_fused: {
    reference: (await import("../lib/backend/cpu/_workspace.ts")).lossAndGradient,
    fast: "the CPU session's step",
    sweep: { coveredBy: "tests/webgpu_fused_test.ts" },
  },
};

/** The `lib/...ts#name` references of a shader's `Mirrors:` paragraph (a bare `#name` reuses the path). */
function mirrored(source: string): Array<{ path: string; name: string }> {
  const header = source.split("\n").filter((line) => line.startsWith("//"));
  const at = header.findIndex((line) => line.includes("Mirrors:"));
  assert.ok(at >= 0, "no Mirrors: line");
  let text = header[at];
  for (let k = at + 1; k < header.length && /^\/\/\s{4,}/.test(header[k]); k++) text += header[k];
  const found: Array<{ path: string; name: string }> = [];
  let path = "";
  for (const m of text.matchAll(/(lib\/[\w/]+\.ts)?#(\w+(?:\.\w+)*)/g)) {
    path = m[1] ?? path;
    found.push({ path, name: m[2] });
  }
  return found;
}

Deno.test("ops: every shader has a (reference, fast CPU, WGSL) entry", () => {
  const shaders = Object.keys(SHADERS).sort();
  assert.deepEqual(Object.keys(TWINS).sort(), shaders);
  for (const name of shaders) {
    const twin = TWINS[name as ShaderName];
    assert.equal(typeof twin.reference, "function", `${name}: reference`);
    assert.ok(typeof twin.fast === "function" || twin.fast.length > 0, `${name}: fast twin`);
  }
});

Deno.test("ops: each shader's Mirrors: line names its reference, which exists", async () => {
  for (const [name, source] of Object.entries(SHADERS)) {
    const refs = mirrored(source);
    assert.ok(refs.length > 0, `${name}: Mirrors: names no lib/...ts#function`);
    for (const { path, name: fn } of refs) {
      const module = await import(`../${path}`);
      let value: unknown = module;
      for (const part of fn.split(".")) value = (value as Record<string, unknown>)[part];
      assert.equal(typeof value, "function", `${name}: ${path}#${fn} is not a function`);
    }
    const reference = TWINS[name as ShaderName].reference;
    const named = await Promise.all(refs.map(async ({ path, name: fn }) => {
      let value: unknown = await import(`../${path}`);
      for (const part of fn.split(".")) value = (value as Record<string, unknown>)[part];
      return value;
    }));
    assert.ok(named.includes(reference), `${name}: Mirrors: does not name the table's reference`);
  }
});

Deno.test("ops: reference, fast CPU and WGSL agree over the shape sweep", async () => {
  const rig = await kernelRig();
  try {
    const done = new Set<unknown>();
    for (const [name, twin] of Object.entries(TWINS)) {
      if (typeof twin.sweep !== "function") {
        const text = await Deno.readTextFile(twin.sweep.coveredBy);
        assert.ok(text.includes(name), `${name}: ${twin.sweep.coveredBy} does not test it`);
        continue;
      }
      if (done.has(twin.sweep)) continue; // one sweep serves several shaders
      done.add(twin.sweep);
      await twin.sweep(rig);
    }
  } finally {
    rig.device.destroy();
  }
});
