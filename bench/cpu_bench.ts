/**
 * CPU backend benchmarks: the tutorial's training (2-25-3, batch 32, 2000 steps) against the bare
 * loop of bench/floor.ts, one MNIST epoch (784-256-10, batch 128, 63 steps over 8000 digits), and
 * fused ensemble inference (10 members over 1000 rows in one `predict`) against 10 separate
 * `predict` calls averaged in TypeScript.
 *
 * ```sh
 * deno bench -A bench/cpu_bench.ts   # Deno's statistics per case
 * deno run -A bench/cpu_bench.ts     # medians of 7 runs and the ratios the issue states
 * ```
 *
 * @module
 */
import {
  type Backend,
  collect,
  cosineAnnealing,
  createCpuBackend,
  initParams,
  makeBlobs,
  mlp,
  type MlpSpec,
  outputDim,
  paramCount,
  randomState,
  sgd,
  splitAt,
  type StepPlan,
  toFloat32,
  train,
} from "../mod.ts";
import process from "node:process";
import { floorTrain } from "./floor.ts";
import { loadMnist, splitMnist } from "../examples/_mnist_data.ts";

// The tutorial workload (examples/blobs.ts): lr set per epoch, 10 cycles over 500 epochs.
const [tutorialSet] = splitAt(
  makeBlobs({ nSamples: 1100, centers: 3, nFeatures: 2, clusterStd: 2, randomState: 2 }),
  100,
);
const tutorialData = { x: toFloat32(tutorialSet.x), y: tutorialSet.y, n: tutorialSet.n };
const TUTORIAL_EPOCHS = 500;
const tutorialSpec = mlp({ layers: [2, 25, 3] });

async function tutorialTrain(backend: Backend): Promise<void> {
  await collect(train({
    backend,
    model: tutorialSpec,
    optimizer: sgd({ momentum: 0.9 }),
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: TUTORIAL_EPOCHS, cycles: 10 }),
    lrPer: "epoch",
    epochs: TUTORIAL_EPOCHS,
    batchSize: 32,
    data: tutorialData,
    seed: 1,
  }));
}

function tutorialFloor(): void {
  const lrs = new Float32Array(TUTORIAL_EPOCHS * 4);
  const schedule = cosineAnnealing({ lrMax: 0.01, totalSteps: TUTORIAL_EPOCHS, cycles: 10 });
  for (let s = 0; s < lrs.length; s++) lrs[s] = schedule(Math.floor(s / 4));
  floorTrain({
    layers: [2, 25, 3],
    ...tutorialData,
    batchSize: 32,
    epochs: TUTORIAL_EPOCHS,
    lrs,
    momentum: 0.9,
    initialParams: initParams(tutorialSpec, { seed: 1 }),
    seed: 1,
  });
}

// MNIST: the seeded 8000/2000 split, one epoch of batch 128 in a seeded order.
const mnist = splitMnist(await loadMnist(), { seed: 0 });
const mnistSpec = mlp({ layers: [784, 256, 10] });
const MNIST_BATCH = 128;

function epochPlan(n: number, batch: number, seed: number): StepPlan {
  const steps = Math.ceil(n / batch);
  return {
    indices: Int32Array.from(randomState(seed).permutation(n)),
    offsets: new Int32Array(steps + 1).map((_, s) => Math.min(n, s * batch)),
    lrs: new Float32Array(steps).fill(0.01),
  };
}
const mnistPlan = epochPlan(mnist.train.n, MNIST_BATCH, 1);

async function mnistEpoch(backend: Backend): Promise<void> {
  const session = await backend.createSession({
    spec: mnistSpec,
    optimizer: sgd({ momentum: 0.9 }),
    params: initParams(mnistSpec, { seed: 1 }),
    data: mnist.train,
  });
  session.run(mnistPlan);
  await session.readStats();
  session.dispose();
}

// Ensemble inference: 10 members (seeded like snapshots would differ) over 1000 rows.
const MEMBERS = 10;
const ROWS = 1000;
interface EnsembleCase {
  readonly spec: MlpSpec;
  readonly params: Float32Array; // [MEMBERS, P]
  readonly x: Float32Array; // [ROWS, inDim]
}
function ensembleCase(spec: MlpSpec, x: Float32Array): EnsembleCase {
  const params = new Float32Array(MEMBERS * paramCount(spec));
  for (let m = 0; m < MEMBERS; m++) {
    params.set(initParams(spec, { seed: 100 + m }), m * paramCount(spec));
  }
  return { spec, params, x };
}
const tutorialRows = new Float32Array(ROWS * 2);
{
  const random = randomState(5);
  for (let k = 0; k < tutorialRows.length; k++) tutorialRows[k] = random.normal(0, 5);
}
const ensembles: Record<string, EnsembleCase> = {
  "2-25-3": ensembleCase(tutorialSpec, tutorialRows),
  "784-256-10": ensembleCase(mnistSpec, mnist.test.x.slice(0, ROWS * 784)),
};

function predictFused(backend: Backend, c: EnsembleCase): Promise<Float32Array> {
  return backend.predict({ spec: c.spec, params: c.params, members: MEMBERS, x: c.x, n: ROWS });
}

async function predictSeparate(backend: Backend, c: EnsembleCase): Promise<Float32Array> {
  const P = paramCount(c.spec);
  const width = outputDim(c.spec);
  const mean = new Float32Array(ROWS * width);
  for (let m = 0; m < MEMBERS; m++) {
    const probs = await backend.predict({
      spec: c.spec,
      params: c.params.subarray(m * P, (m + 1) * P),
      x: c.x,
      n: ROWS,
    });
    for (let k = 0; k < mean.length; k++) mean[k] += probs[k] / MEMBERS;
  }
  return mean;
}

const backend = createCpuBackend();

Deno.bench({
  name: "tutorial: train, 2000 steps",
  group: "tutorial",
  fn: () => tutorialTrain(backend),
});
Deno.bench({
  name: "tutorial: bare loop (floor)",
  group: "tutorial",
  baseline: true,
  fn: tutorialFloor,
});
Deno.bench({ name: "mnist: one epoch, 63 steps", group: "mnist", fn: () => mnistEpoch(backend) });
for (const [name, c] of Object.entries(ensembles)) {
  Deno.bench({
    name: `predict ${name}: 10 members fused`,
    group: `predict ${name}`,
    fn: async () => void (await predictFused(backend, c)),
  });
  Deno.bench({
    name: `predict ${name}: 10 separate calls`,
    group: `predict ${name}`,
    baseline: true,
    fn: async () => void (await predictSeparate(backend, c)),
  });
}

/** Median wall time and median process CPU time (all threads) of `runs` calls, in ms. */
async function median(runs: number, f: () => unknown): Promise<{ wall: number; cpu: number }> {
  await f(); // warm-up: compile the hot loops
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    const usage = process.cpuUsage();
    await f();
    const used = process.cpuUsage(usage);
    wall.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { wall: wall[runs >> 1], cpu: cpu[runs >> 1] };
}

if (import.meta.main) {
  // The machine is shared: CPU time is the steadier figure when other processes compete for it.
  const runs = 7;
  console.log(`${"case (median of 7)".padEnd(40)} ${"wall".padStart(11)} ${"cpu".padStart(11)}`);
  const line = (label: string, t: { wall: number; cpu: number }, extra = "") =>
    console.log(
      `${label.padEnd(40)} ${t.wall.toFixed(1).padStart(8)} ms ${t.cpu.toFixed(1).padStart(8)} ms` +
        extra,
    );
  const ratio = (a: { wall: number; cpu: number }, b: { wall: number; cpu: number }) =>
    `${(a.wall / b.wall).toFixed(2)}x wall, ${(a.cpu / b.cpu).toFixed(2)}x cpu`;
  const floor = await median(runs, tutorialFloor);
  const tutorial = await median(runs, () => tutorialTrain(backend));
  line("tutorial: bare loop (floor)", floor);
  line("tutorial: train (cpu)", tutorial, `  (${ratio(tutorial, floor)} the floor)`);
  line("mnist: one epoch (cpu)", await median(runs, () => mnistEpoch(backend)));
  for (const [name, c] of Object.entries(ensembles)) {
    const separate = await median(runs, () => predictSeparate(backend, c));
    const fused = await median(runs, () => predictFused(backend, c));
    line(`predict ${name}: 10 separate calls`, separate);
    line(
      `predict ${name}: 10 members fused`,
      fused,
      `  (separate / fused: ${ratio(separate, fused)})`,
    );
  }
}
