/**
 * `deno bench -A bench/kernels_bench.ts`: each kernel and a whole training step, CPU against WebGPU,
 * at the tutorial's size (2-25-3, batch 32) and at an MNIST size (784-256-10, batch 128); the
 * WebGPU backend's two training paths (the fused kernel, shaders/train_fused.wgsl, and the
 * per-kernel path) on the tutorial's 2000 steps; and ensemble prediction, 10 stacked members in one
 * call against 10 calls of one member.
 *
 * GPU timings encode many dispatches (or steps) per submit and await once, as training does: one
 * awaited round trip costs about 11 ms in Deno (shared/PLATFORM.md), which would otherwise swamp
 * every kernel. Each GPU bench name says how many it encodes per submit and which adapter ran;
 * a software adapter (llvmpipe, SwiftShader) is marked "software".
 */
import {
  adam,
  cosineAnnealing,
  createCpuBackend,
  createWebGpuBackend,
  denseWidths,
  forward,
  initParams,
  makeBlobs,
  mlp,
  type MlpSpec,
  optimizerStateSize,
  paramCount,
  randomState,
  sgd,
  type StepPlan,
  toFloat32,
} from "../mod.ts";
import { lossAndGradient } from "../lib/backend/cpu/_workspace.ts";
import { epochsBatches } from "../lib/batches.ts";
import { applyUpdate } from "../lib/optimizers/mod.ts";
import { createBufferSet, USAGE, writeBuffer } from "../lib/backend/webgpu/_buffers.ts";
import { createPipelineCache, STEP_RECORD_BYTES } from "../lib/backend/webgpu/_pipeline_cache.ts";
import type { ShaderName } from "../lib/backend/webgpu/_shaders.ts";
import { adapterFacts } from "../lib/backend/webgpu/_quirks.ts";

const adapter = await navigator.gpu?.requestAdapter();
if (!adapter) {
  throw new Error(
    'WebGPU is not available: no adapter; run the CPU benches with backend "cpu" only',
  );
}
const facts = adapterFacts(adapter);
const ADAPTER = `${facts.software ? "software " : ""}${facts.description}`;
const device = await adapter.requestDevice();
const cache = createPipelineCache(device);
const buffers = createBufferSet(device);
const gpuBackend = await createWebGpuBackend({ fused: "never" });
const fusedBackend = await createWebGpuBackend({ fused: "auto" });
const cpuBackend = createCpuBackend();
console.log(`WebGPU adapter: ${ADAPTER}${facts.software ? " (software: a CPU rasterizer)" : ""}`);

/** Dispatches of one kernel per submit. */
const DISPATCHES = 50;
/** Training steps per submit in the whole-step benches. */
const STEPS = 50;

interface Shape {
  readonly label: string;
  readonly spec: MlpSpec;
  readonly batch: number;
  readonly n: number;
}

const SHAPES: ReadonlyArray<Shape> = [
  { label: "2-25-3 b32", spec: mlp({ layers: [2, 25, 3] }), batch: 32, n: 100 },
  { label: "784-256-10 b128", spec: mlp({ layers: [784, 256, 10] }), batch: 128, n: 1024 },
];

function tileShape(cols: number) {
  let wgX = 1;
  while (wgX < Math.ceil(cols / 4) && wgX < 16) wgX *= 2;
  return { WG_X: wgX, WG_Y: 64 / wgX };
}
const tiles = (cols: number, rows: number, s: { WG_X: number; WG_Y: number }) =>
  [Math.ceil(Math.ceil(cols / 4) / s.WG_X), Math.ceil(Math.ceil(rows / 4) / s.WG_Y), 1] as const;
const flat = (count: number) => [Math.ceil(count / 64), 1, 1] as const;

/** A bench of `DISPATCHES` dispatches of one kernel in one pass, awaited once. */
async function kernelBench(
  group: string,
  shader: ShaderName,
  constants: Record<string, number>,
  bound: GPUBuffer[],
  grid: readonly [number, number, number],
  record: GPUBindGroup,
): Promise<void> {
  const c = constants;
  const detail = "IN_DIM" in c && "OUT_DIM" in c ? ` ${c.IN_DIM}->${c.OUT_DIM}` : "";
  const pipeline = await cache.pipeline(shader, constants);
  const bindGroup = device.createBindGroup({
    layout: cache.layout(shader),
    entries: bound.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  Deno.bench(
    `webgpu ${shader}${detail} (x${DISPATCHES} per submit; ${ADAPTER})`,
    { group },
    async () => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.setBindGroup(1, record, [0]);
      for (let k = 0; k < DISPATCHES; k++) pass.dispatchWorkgroups(...grid);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
  );
}

for (const { label, spec, batch, n } of SHAPES) {
  const [inDim, hidden, outDim] = denseWidths(spec);
  const P = paramCount(spec);
  const random = randomState(1);
  const params = initParams(spec, { seed: 1 });
  const x = new Float32Array(n * inDim).map(() => random.normal(0, 1));
  const labels = new Int32Array(n).map(() => random.randomInterval(outDim - 1));
  const rows = new Int32Array(batch).map(() => random.randomInterval(n - 1));
  const xb = new Float32Array(batch * inDim);
  const yb = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    xb.set(x.subarray(rows[b] * inDim, (rows[b] + 1) * inDim), b * inDim);
    yb[b] = labels[rows[b]];
  }
  const grad = new Float32Array(P);

  // ---- GPU buffers for the single-kernel benches (replicas 1).
  const storage = USAGE.STORAGE | USAGE.COPY_DST;
  const gx = buffers.upload("x", x, storage);
  const gy = buffers.upload("labels", labels, storage);
  const gidx = buffers.upload("indices", rows, storage);
  const gparams = buffers.upload("params", params, storage);
  const ggrads = buffers.upload("grads", new Float32Array(P).fill(1e-3), storage);
  const gstate = buffers.create("state", (2 * P + 1) * 4, storage);
  const glrs = buffers.upload("lrs", new Float32Array([1e-3]), storage);
  const gxb = buffers.create("xb", batch * inDim * 4, storage);
  const gh = buffers.create("hidden", batch * hidden * 4, storage);
  const gdh = buffers.create("hidden deltas", batch * hidden * 4, storage);
  const gz = buffers.create("logits", batch * outDim * 4, storage);
  const gdz = buffers.create("logit deltas", batch * outDim * 4, storage);
  const gstats = buffers.create("stats", 8, storage);
  const gweights = buffers.upload("weights", new Float32Array([1]), storage);
  const gmean = buffers.create("mean", batch * outDim * 4, storage);
  const records = buffers.create("record", 256, USAGE.UNIFORM | USAGE.COPY_DST);
  writeBuffer(device, records, 0, new Uint32Array([0, 0, batch, 0]));
  const record = device.createBindGroup({
    layout: cache.stepLayout,
    entries: [{ binding: 0, resource: { buffer: records, size: STEP_RECORD_BYTES } }],
  });
  const layer0 = { W_OFF: 0, B_OFF: inDim * hidden };
  const layer1 = {
    W_OFF: inDim * hidden + hidden,
    B_OFF: inDim * hidden + hidden + hidden * outDim,
  };
  const s0 = tileShape(hidden);
  const s1 = tileShape(outDim);

  // ---- forward
  let group = `${label}: forward, both layers`;
  Deno.bench(`cpu forward (model.forward)`, { group, baseline: true }, () => {
    forward(spec, params, xb, batch);
  });
  await kernelBench(
    group,
    "gather",
    { IN_DIM: inDim },
    [gx, gidx, gxb],
    flat(batch * inDim),
    record,
  );
  await kernelBench(
    group,
    "dense_forward",
    {
      IN_DIM: inDim,
      OUT_DIM: hidden,
      ACT: 1,
      ...layer0,
      PARAM_STRIDE: P,
      IN_ROW: inDim,
      IN_REP: 0,
      OUT_ROW: hidden,
      OUT_REP: hidden,
      ...s0,
    },
    [gparams, gxb, gh],
    tiles(hidden, batch, s0),
    record,
  );
  await kernelBench(
    group,
    "dense_forward",
    {
      IN_DIM: hidden,
      OUT_DIM: outDim,
      ACT: 0,
      ...layer1,
      PARAM_STRIDE: P,
      IN_ROW: hidden,
      IN_REP: hidden,
      OUT_ROW: outDim,
      OUT_REP: outDim,
      ...s1,
    },
    [gparams, gh, gz],
    tiles(outDim, batch, s1),
    record,
  );
  await kernelBench(group, "softmax", { OUT_DIM: outDim, STRIDE: batch * outDim }, [gz], [
    Math.ceil(batch / 64),
    1,
    1,
  ], record);
  await kernelBench(
    group,
    "combine_mean",
    { OUT_DIM: outDim, STRIDE: batch * outDim, MEMBERS: 1 },
    [gz, gweights, gmean],
    flat(batch * outDim),
    record,
  );

  // ---- loss and backward
  group = `${label}: loss and backward`;
  Deno.bench(`cpu forward + loss + backward (lossAndGradient)`, { group, baseline: true }, () => {
    lossAndGradient({ spec, params, x: xb, y: yb, rows: batch, grad });
  });
  await kernelBench(
    group,
    "softmax_xent",
    { OUT_DIM: outDim, REPLICAS: 1 },
    [gz, gy, gidx, gdz, gstats],
    [1, 1, 1],
    record,
  );
  await kernelBench(
    group,
    "dense_grad_weights",
    {
      IN_DIM: inDim,
      OUT_DIM: hidden,
      W_OFF: 0,
      PARAM_STRIDE: P,
      IN_ROW: inDim,
      IN_REP: 0,
      REPLICAS: 1,
      ...s0,
    },
    [gxb, gdh, ggrads],
    tiles(hidden, inDim, s0),
    record,
  );
  await kernelBench(
    group,
    "bias_grad",
    { OUT_DIM: hidden, B_OFF: layer0.B_OFF, PARAM_STRIDE: P, REPLICAS: 1 },
    [gdh, ggrads],
    flat(hidden),
    record,
  );
  const sIn = tileShape(hidden);
  await kernelBench(
    group,
    "dense_grad_input",
    {
      IN_DIM: hidden,
      OUT_DIM: outDim,
      ACT: 1,
      W_OFF: layer1.W_OFF,
      PARAM_STRIDE: P,
      REPLICAS: 1,
      ...sIn,
    },
    [gparams, gdz, gh, gdh],
    tiles(hidden, batch, sIn),
    record,
  );

  // ---- optimizer updates
  group = `${label}: optimizer update`;
  const momentum = sgd({ momentum: 0.9 });
  const adamOpt = adam();
  const cpuParams = params.slice();
  const cpuState = new Float32Array(optimizerStateSize(adamOpt, P));
  grad.fill(1e-3);
  Deno.bench(`cpu sgd momentum (applyUpdate)`, { group, baseline: true }, () => {
    applyUpdate(momentum, cpuParams, grad, cpuState, 1e-3);
  });
  Deno.bench(`cpu adam (applyUpdate)`, { group }, () => {
    applyUpdate(adamOpt, cpuParams, grad, cpuState, 1e-3);
  });
  await kernelBench(
    group,
    "sgd",
    { PARAM_COUNT: P, STATE_STRIDE: P, MOMENTUM: 0.9, REPLICAS: 1 },
    [gparams, ggrads, gstate, glrs],
    flat(P),
    record,
  );
  await kernelBench(
    group,
    "adam_tick",
    { STATE_STRIDE: 2 * P + 1, COUNT_OFF: 2 * P, REPLICAS: 1 },
    [gstate],
    [1, 1, 1],
    record,
  );
  await kernelBench(
    group,
    "adam",
    {
      PARAM_COUNT: P,
      STATE_STRIDE: 2 * P + 1,
      REPLICAS: 1,
      BETA1: 0.9,
      BETA2: 0.999,
      LOG_BETA1: Math.log(0.9),
      LOG_BETA2: Math.log(0.999),
      EPSILON: 1e-8,
    },
    [gparams, ggrads, gstate, glrs],
    flat(P),
    record,
  );
  await kernelBench(
    group,
    "optimizer_reset",
    { TOTAL: 2 * P + 1 },
    [gstate],
    flat(2 * P + 1),
    record,
  );

  // ---- a whole training step, through the backends' sessions
  group = `${label}: whole training step (x${STEPS} per run)`;
  const plan: StepPlan = {
    indices: new Int32Array(STEPS * batch).map(() => random.randomInterval(n - 1)),
    offsets: new Int32Array(STEPS + 1).map((_, s) => s * batch),
    lrs: new Float32Array(STEPS).fill(1e-3),
  };
  const sessionOptions = {
    spec,
    optimizer: momentum,
    params,
    data: { x, y: labels, n },
  };
  const cpuSession = await cpuBackend.createSession(sessionOptions);
  const gpuSession = await gpuBackend.createSession(sessionOptions);
  const fusedSession = await fusedBackend.createSession(sessionOptions);
  Deno.bench(`cpu session.run`, { group, baseline: true }, () => {
    cpuSession.run(plan);
  });
  Deno.bench(`webgpu per-kernel session.run + one readStats (${ADAPTER})`, { group }, async () => {
    gpuSession.run(plan);
    await gpuSession.readStats();
  });
  // The fused kernel takes networks that fit in workgroup memory (not 784-256-10): the bench runs
  // only where it does, checked by the backend's count of fused steps.
  const before = fusedBackend.fusedSteps;
  fusedSession.run(plan);
  await fusedSession.readStats();
  if (fusedBackend.fusedSteps > before) {
    Deno.bench(`webgpu fused session.run + one readStats (${ADAPTER})`, { group }, async () => {
      fusedSession.run(plan);
      await fusedSession.readStats();
    });
  } else console.log(`${label}: the fused kernel does not take this network; not benched`);
}

// ---- The tutorial's training run: 2-25-3 relu, 100 rows, batch 32 (32, 32, 32, 4), SGD with
// momentum 0.9, 500 epochs = 2000 steps, cosine lr per epoch from 0.01 over 10 cycles; one plan, then
// the statistics and the parameters read back, as the trainer does between snapshots. Reading the
// statistics also keeps each iteration alike: unread rows would pile up and the GPU sessions would
// time the growth of their statistics buffers.
{
  const spec = mlp({ layers: [2, 25, 3] });
  const blobs = makeBlobs({ nSamples: 1100, centers: 3, clusterStd: 2, randomState: 2 });
  const n = 100;
  const data = { x: toFloat32(blobs.x.subarray(0, 2 * n)), y: blobs.y.slice(0, n), n };
  const epochs = 500;
  const { indices, offsets } = epochsBatches(randomState(7), { n, batchSize: 32 }, epochs);
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: epochs, cycles: 10 });
  const steps = offsets.length - 1;
  const lrs = new Float32Array(steps).map((_, s) => schedule(Math.floor(s / 4)));
  const plan: StepPlan = { indices, offsets, lrs };
  const options = {
    spec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(spec, { seed: 1 }),
    data,
  };
  const group = `tutorial: 2000 steps of 2-25-3 batch 32, stats and params read back`;
  const sessions = {
    cpu: await cpuBackend.createSession(options),
    fused: await fusedBackend.createSession(options),
    perKernel: await gpuBackend.createSession(options),
  };
  const slow = { n: 5, warmup: 1 };
  Deno.bench(`cpu`, { group, baseline: true }, async () => {
    sessions.cpu.run(plan);
    await sessions.cpu.readStats();
    await sessions.cpu.readParams();
  });
  Deno.bench(`webgpu fused (${ADAPTER})`, { group, ...slow }, async () => {
    sessions.fused.run(plan);
    await sessions.fused.readStats();
    await sessions.fused.readParams();
  });
  Deno.bench(`webgpu per-kernel (${ADAPTER})`, { group, ...slow }, async () => {
    sessions.perKernel.run(plan);
    await sessions.perKernel.readStats();
    await sessions.perKernel.readParams();
  });
}

// ---- Ensemble prediction: 10 members of 2-25-3 over 1000 rows, soft vote.
{
  const spec = mlp({ layers: [2, 25, 3] });
  const members = 10;
  const n = 1000;
  const P = paramCount(spec);
  const params = initParams(spec, { seed: 3, replicas: members });
  const random = randomState(4);
  const x = new Float32Array(2 * n).map(() => random.normal(0, 3));
  const group = `ensemble predict: ${members} members x ${n} rows of 2-25-3`;
  const separately = async (backend: typeof cpuBackend) => {
    const mean = new Float32Array(3 * n);
    for (let m = 0; m < members; m++) {
      const one = await backend.predict({
        spec,
        params: params.subarray(m * P, (m + 1) * P),
        x,
        n,
      });
      for (let k = 0; k < mean.length; k++) mean[k] += one[k] / members;
    }
    return mean;
  };
  Deno.bench(`webgpu ${members} members in one call (${ADAPTER})`, {
    group,
    baseline: true,
  }, async () => {
    await gpuBackend.predict({ spec, params, members, x, n });
  });
  Deno.bench(
    `webgpu ${members} calls of one member, mean in JS (${ADAPTER})`,
    { group },
    async () => {
      await separately(gpuBackend);
    },
  );
  Deno.bench(`cpu ${members} members in one call`, { group }, async () => {
    await cpuBackend.predict({ spec, params, members, x, n });
  });
}

globalThis.addEventListener("unload", () => {
  buffers.destroyAll();
  gpuBackend.dispose();
  fusedBackend.dispose();
  cpuBackend.dispose();
  device.destroy();
});
