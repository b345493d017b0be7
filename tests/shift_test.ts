/**
 * Augmentation by random shifts (lib/ops/shift.ts): the shift against plain loops, the sparse twin
 * against the dense one, the draws' range and spread, the shifted gather's WGSL kernel
 * (shaders/gather_shift.wgsl) and the WebAssembly session's gather against gatherShiftRef bit for
 * bit, and the CPU, WebAssembly and WebGPU backends giving the same snapshots when they train with
 * it (dense and mostly-zero inputs).
 *
 * In CI a WebGPU adapter always exists (Mesa's software rasterizer at least): a missing adapter
 * fails the WebGPU tests, never skips them.
 */
import assert from "node:assert/strict";
import { assertClose } from "./_backend_cases.ts";
import { kernelRig, runCalls } from "./_kernel_harness.ts";
import {
  type Backend,
  collect,
  ConfigError,
  cosineAnnealing,
  createBackend,
  createCpuBackend,
  createWebGpuBackend,
  dense,
  relu,
  sequential,
  sgd,
  shift,
  train,
  type TrainingData,
} from "../mod.ts";
import { dropoutSeedKey } from "../lib/ops/dropout.ts";
import { gatherRef } from "../lib/ops/gather.ts";
import {
  gatherShiftCall,
  gatherShiftRef,
  shiftDense,
  shiftDx,
  shiftDy,
  shiftSparse,
  shiftStream,
  shiftWord,
} from "../lib/ops/shift.ts";
import { gatherShifted } from "../lib/backend/wasm/_shift_gather.ts";

/** The reference: out[r][c] = img[r - dy][c - dx], 0 outside, as nested plain loops. */
function reference(img: number[][], dx: number, dy: number): number[][] {
  const h = img.length;
  const w = img[0].length;
  const out: number[][] = [];
  for (let r = 0; r < h; r++) {
    const row: number[] = [];
    for (let c = 0; c < w; c++) {
      const inside = r - dy >= 0 && r - dy < h && c - dx >= 0 && c - dx < w;
      row.push(inside ? img[r - dy][c - dx] : 0);
    }
    out.push(row);
  }
  return out;
}

Deno.test("shift: dense and sparse shifts equal the plain-loop reference for every offset", () => {
  const [w, h] = [5, 4];
  const img = Array.from(
    { length: h },
    (_, r) => Array.from({ length: w }, (_, c) => ((r * 7 + c * 3) % 4 === 0 ? 0 : 1 + r * w + c)),
  );
  const flat = Float32Array.from(img.flat());
  const cols = Int32Array.from([...flat].flatMap((v, i) => (v !== 0 ? [i] : [])));
  const values = Float32Array.from(cols, (i) => flat[i]);
  for (let dy = -3; dy <= 3; dy++) {
    for (let dx = -4; dx <= 4; dx++) {
      const want = reference(img, dx, dy).flat();
      const out = new Float32Array(3 + w * h).fill(NaN);
      shiftDense(flat, 0, out, 3, w, h, dx, dy);
      assert.deepEqual([...out.subarray(3)], want, `dense dx=${dx} dy=${dy}`);
      const outCols = new Int32Array(cols.length + 2);
      const outValues = new Float32Array(cols.length + 2);
      const k = shiftSparse(
        cols,
        0,
        values,
        0,
        cols.length,
        outCols,
        1,
        outValues,
        2,
        0,
        w,
        h,
        dx,
        dy,
      );
      const rebuilt = new Array(w * h).fill(0);
      for (let j = 0; j < k; j++) {
        if (j > 0) assert.ok(outCols[1 + j] > outCols[j], "columns stay ascending");
        rebuilt[outCols[1 + j]] = outValues[2 + j];
      }
      assert.deepEqual(rebuilt, want, `sparse dx=${dx} dy=${dy}`);
    }
  }
});

Deno.test("shift: draws cover [-maxShift, maxShift] in both directions about evenly", () => {
  const m = 2;
  const counts = new Map<string, number>();
  const stream = shiftStream(dropoutSeedKey(7), 3);
  const n = 25_000;
  for (let row = 0; row < n; row++) {
    const word = shiftWord(stream, row);
    const key = `${shiftDx(word, m)},${shiftDy(word, m)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 25);
  // Each of the 25 pairs expects 1000 rows; 5 standard deviations is about 155.
  for (const [key, count] of counts) assert.ok(Math.abs(count - 1000) < 160, `${key}: ${count}`);
  // Other steps and seeds draw other shifts.
  const other = shiftStream(dropoutSeedKey(7), 4);
  let same = 0;
  for (let row = 0; row < 1000; row++) {
    if (shiftWord(other, row) === shiftWord(stream, row)) same++;
  }
  assert.ok(same < 5);
});

function images(n: number, sparse: boolean): TrainingData {
  const x = new Float32Array(n * 36);
  for (let i = 0; i < x.length; i++) {
    const v = Math.sin(i * 12.9898) * 43758.5453;
    const frac = v - Math.floor(v);
    x[i] = sparse && frac < 0.85 ? 0 : frac;
  }
  return { x, y: Int32Array.from({ length: n }, (_, i) => i % 3), n };
}

async function trained(
  backend: Backend,
  data: TrainingData,
  maxShift: number | undefined,
  image = { width: 6, height: 6 },
) {
  const spec = sequential({ inputs: 36, layers: [dense(16), relu(), dense(3)] });
  const result = await collect(train({
    backend,
    model: spec,
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 30, cycles: 2 }),
    epochs: 6,
    batchSize: 8,
    data,
    seed: 5,
    replicas: 2,
    reportEvery: 1, // several plans, so that firstStep must carry the global step
    ...(maxShift === undefined ? {} : { augment: shift({ ...image, maxShift }) }),
  }));
  return result.snapshots;
}

Deno.test("shift: the CPU and WebAssembly backends train to the same snapshots with augmentation", async () => {
  const cpu = createCpuBackend();
  const wasm = await createBackend("wasm");
  try {
    for (const sparse of [false, true]) {
      const data = images(40, sparse);
      const a = await trained(cpu, data, 2);
      const b = await trained(wasm, data, 2);
      assert.equal(a.length, 4);
      for (let i = 0; i < a.length; i++) {
        assertClose(b[i].params, a[i].params, {
          rel: 1e-4,
          abs: 1e-5,
          label: `snapshot ${i} sparse=${sparse}`,
        });
      }
      // Augmentation changes training, and a shift of 0 is no augmentation at all.
      const plain = await trained(cpu, data, undefined);
      assert.ok(plain[3].params.some((v, k) => Math.abs(v - a[3].params[k]) > 1e-3));
      assert.deepEqual((await trained(cpu, data, 0))[3].params, plain[3].params);
      assert.deepEqual(
        (await trained(wasm, data, 0))[3].params,
        (await trained(wasm, data, undefined))[3].params,
      );
    }
  } finally {
    cpu.dispose();
    wasm.dispose();
  }
});

Deno.test("shift: the WGSL gather_shift kernel and the WebAssembly gather equal gatherShiftRef bit for bit", async () => {
  const rig = await kernelRig();
  try {
    const cases = [
      // [width, height, maxShift, rows, seed, firstStep, step]
      [1, 1, 0, 1, 0, 0, 0],
      [5, 4, 1, 3, 1, 0, 0],
      [5, 4, 3, 17, 12345, 1000, 3],
      [7, 3, 2, 67, 2 ** 33 + 5, 77, 11],
      [6, 5, 4, 5, 9, 2 ** 20, 1],
      [4, 4, 2, 64, 3, 2 ** 32 - 2, 3], // the global step wraps at 2^32 on both sides
      [28, 28, 2, 33, 7, 123_456, 5],
    ];
    for (const [width, height, maxShift, rows, seed, firstStep, step] of cases) {
      const augment = shift({ width, height, maxShift });
      const size = width * height;
      const n = rows + 3;
      // Every pixel distinct and nonzero, so that a wrong source pixel or fill cannot hide.
      const x = Float32Array.from({ length: n * size }, (_, k) => 1 + k);
      const start = 2;
      const indices = Int32Array.from({ length: start + rows }, (_, k) => (k * 5 + 1) % n);
      const seedKey = dropoutSeedKey(seed);
      const expected = gatherShiftRef(x, indices, start, rows, augment, seedKey, firstStep + step);
      const label = `${width}x${height} maxShift ${maxShift} rows ${rows} seed ${seed} step ` +
        `${firstStep}+${step}`;
      const got = await runCalls(rig, [gatherShiftCall(augment, seedKey)], {
        firstStep: new Uint32Array([firstStep]),
        x,
        indices,
        batch: new Float32Array(rows * size).fill(NaN),
      }, { batch: rows, start, step });
      assert.deepEqual([...got.batch], [...expected], `${label}: WGSL`);
      // The WebAssembly session's gather, on views of one memory: x first, the batch after it.
      const heap = new ArrayBuffer(4 * (n + rows) * size);
      const f32 = new Float32Array(heap);
      f32.set(x);
      const target = { kind: "dense" as const, x: 0, into: 4 * n * size };
      const i32 = new Int32Array(heap);
      gatherShifted(f32, i32, augment, seedKey, firstStep + step, indices, start, rows, target);
      assert.deepEqual([...f32.subarray(n * size)], [...expected], `${label}: wasm gather`);
      // The draws moved something wherever they could (a shift of 0 is the plain gather).
      const plain = gatherRef(x, indices, start, rows, size);
      const moved = expected.some((v, k) => v !== plain[k]);
      assert.equal(moved, maxShift > 0 && rows > 1, `${label}: shifted`);
    }
  } finally {
    rig.device.destroy();
  }
});

Deno.test("shift: the CPU and WebGPU backends train to the same snapshots with augmentation", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const device = await adapter.requestDevice();
  const cpu = createCpuBackend();
  const gpu = await createWebGpuBackend({ device });
  try {
    // Dense images, mostly-zero ones (the CPU gathers those as nonzeros), and non-square ones.
    const cases = [
      { image: { width: 6, height: 6 }, maxShift: 2, sparse: false },
      { image: { width: 6, height: 6 }, maxShift: 1, sparse: true },
      { image: { width: 9, height: 4 }, maxShift: 3, sparse: false },
    ];
    for (const { image, maxShift, sparse } of cases) {
      const data = images(40, sparse);
      const a = await trained(cpu, data, maxShift, image);
      const before = gpu.fusedSteps;
      const b = await trained(gpu, data, maxShift, image);
      // Shifted sessions take the per-kernel path (only it gathers shifted batches).
      assert.equal(gpu.fusedSteps, before, "no fused steps with augment");
      assert.equal(a.length, 4);
      assert.equal(b.length, a.length);
      for (let i = 0; i < a.length; i++) {
        assertClose(b[i].params, a[i].params, {
          rel: 1e-4,
          abs: 1e-5,
          label: `${image.width}x${image.height} sparse=${sparse} snapshot ${i}`,
        });
      }
      // The shifts did something on WebGPU too: without them it ends elsewhere.
      const plain = await trained(gpu, data, undefined);
      assert.ok(plain[3].params.some((v, k) => Math.abs(v - b[3].params[k]) > 1e-3));
    }
    assert.ok(gpu.fusedSteps > 0, "the unshifted runs of this small model took the fused path");
  } finally {
    cpu.dispose();
    gpu.dispose();
    device.destroy();
  }
});

Deno.test("shift: bad options and images that are not the model's inputs are refused", () => {
  assert.throws(() => shift({ width: 0, height: 6, maxShift: 1 }), ConfigError);
  assert.throws(
    () =>
      train({
        backend: createCpuBackend(),
        model: sequential({ inputs: 36, layers: [dense(3)] }),
        optimizer: sgd(),
        schedule: cosineAnnealing({ lrMax: 0.1, totalSteps: 5, cycles: 1 }),
        epochs: 1,
        batchSize: 8,
        data: images(40, false),
        augment: shift({ width: 5, height: 6, maxShift: 1 }),
      }),
    /augment must describe images of width x height = the model's 36 inputs: got 30/,
  );
});
