/**
 * The MNIST study's methods: every way of spending the same training budget (E epochs of one
 * network), each trained by one call of {@linkcode trainMethods} and named by a stable id.
 *
 * @module
 */
import {
  atCycleEnds,
  atEpochs,
  averageWeights,
  type Backend,
  collect,
  type ComparedMethod,
  cosineAnnealing,
  cosineDecay,
  dense,
  dropout,
  ensemble,
  type EpochEvent,
  everyEpochs,
  fge,
  type ModelSpec,
  multiStep,
  relu,
  type Schedule,
  selectMembers,
  sequence,
  sequential,
  sgd,
  shift,
  type Snapshot,
  type SnapshotPolicy,
  swaLr,
  train,
  type TrainConfig,
  type TrainingData,
} from "../mod.ts";
import { MNIST_CLASSES, MNIST_PIXELS } from "./_mnist_data.ts";

/** The study's stable method ids, in table order. */
export const METHOD_IDS = [
  "single-cosine",
  "single-step",
  "snapshot",
  "snapshot-selected",
  "swa",
  "fge",
  "true-equal",
  "true-full",
] as const;

/** One of {@linkcode METHOD_IDS}. */
export type MethodId = typeof METHOD_IDS[number];

/** What every method shares: budget, cycles, restart lr, regularisation, batches. */
export interface Protocol {
  /** Epochs E of one network: every method's budget (`true-full` spends M x E). */
  readonly epochs: number;
  /** Cycles M: snapshots, and networks of the true ensembles. */
  readonly cycles: number;
  /** The peak (restart) lr of every schedule. */
  readonly lrMax: number;
  /** Largest random shift of the images in pixels (0: no augmentation). */
  readonly augment: number;
  /** Dropout rate after the hidden layer (0: none). */
  readonly dropout: number;
  /** Samples per step. */
  readonly batchSize: number;
  /** Hidden units of the MLP 784-H-10. */
  readonly hidden: number;
  /** SGD momentum. */
  readonly momentum: number;
}

/** The model of a protocol: 784-H-10 with ReLU, and dropout when asked. */
export function studyModel(p: Protocol): ModelSpec {
  const hidden = p.dropout > 0 ? [dense(p.hidden), relu(), dropout(p.dropout)] : [
    dense(p.hidden),
    relu(),
  ];
  return sequential({ inputs: MNIST_PIXELS, layers: [...hidden, dense(MNIST_CLASSES)] });
}

/** Called after every epoch event of every run, for progress lines. */
export type OnEpoch = (label: string, epochs: number, event: EpochEvent) => void;

/** A trained method: its members, weights and cost, ready for `compareMethods`. */
export type TrainedMethod = ComparedMethod & { readonly id: MethodId };

/** Everything one seed's training produced. */
export interface SeedRun {
  /** The methods in table order. */
  readonly methods: ReadonlyArray<TrainedMethod>;
  /** The snapshot run's members (for the charts). */
  readonly snapshots: ReadonlyArray<Snapshot>;
  /** The equal-cost true ensemble's independently trained networks (for the charts). */
  readonly independent: ReadonlyArray<Snapshot>;
}

/** One training run of the study: its schedule, length and snapshot policy. */
export interface RunArgs {
  /** The method it trains (for progress lines). */
  readonly label: string;
  /** The lr of every step. */
  readonly schedule: Schedule;
  /** Epochs of the run. */
  readonly epochs: number;
  /** When it takes snapshots. */
  readonly snapshots: SnapshotPolicy;
  /** Networks trained side by side (default 1). */
  readonly replicas?: number;
}

/**
 * The train config of one run of the study: the protocol's model, optimizer, batches and
 * augmentation with the run's schedule. `trainMethods` and the PyTorch replica's exporter
 * (tools/mnist_replica_export.ts) both build their runs here, so they train the same thing.
 */
export function studyTrainConfig(
  p: Protocol,
  on: { readonly backend: Backend; readonly data: TrainingData; readonly seed: number },
  a: RunArgs,
): TrainConfig {
  return {
    backend: on.backend,
    model: studyModel(p),
    optimizer: sgd({ momentum: p.momentum }),
    batchSize: p.batchSize,
    data: on.data,
    seed: on.seed,
    schedule: a.schedule,
    epochs: a.epochs,
    snapshots: a.snapshots,
    replicas: a.replicas ?? 1,
    ...(p.augment > 0 ? { augment: shift({ width: 28, height: 28, maxShift: p.augment }) } : {}),
  };
}

/** Steps of one network's budget: E epochs of `ceil(samples / batchSize)` steps. */
export function budgetSteps(p: Protocol, samples: number): number {
  return p.epochs * Math.ceil(samples / p.batchSize);
}

/** `single-cosine`: one cosine cycle over the budget of `totalSteps`, one snapshot at its end. */
export function singleCosineRun(p: Protocol, totalSteps: number): RunArgs {
  return {
    label: "single-cosine",
    schedule: cosineAnnealing({ lrMax: p.lrMax, totalSteps, cycles: 1 }),
    epochs: p.epochs,
    snapshots: atCycleEnds(),
  };
}

/** `snapshot`: M cosine cycles over the budget of `totalSteps`, a snapshot at the end of each. */
export function snapshotRun(p: Protocol, totalSteps: number): RunArgs {
  return {
    label: "snapshot",
    schedule: cosineAnnealing({ lrMax: p.lrMax, totalSteps, cycles: p.cycles }),
    epochs: p.epochs,
    snapshots: atCycleEnds(),
  };
}

/** Runs the protocol's methods for one seed. */
export async function trainMethods(options: {
  readonly protocol: Protocol;
  readonly backend: Backend;
  readonly data: TrainingData;
  readonly validation: TrainingData;
  readonly seed: number;
  readonly fullCost: boolean;
  readonly onEpoch?: OnEpoch;
}): Promise<SeedRun> {
  const { protocol: p, backend, data, seed, onEpoch } = options;
  const spe = Math.ceil(data.n / p.batchSize);
  const T = budgetSteps(p, data.n);
  const run = async (a: RunArgs) => {
    const events = train(studyTrainConfig(p, { backend, data, seed }, a));
    const result = await collect(tapEpochs(events, (e) => onEpoch?.(a.label, a.epochs, e)));
    return result.snapshots;
  };
  const last = atEpochs([p.epochs - 1]);
  const single = await run(singleCosineRun(p, T));
  const step = await run({
    label: "single-step",
    schedule: multiStep({ lr: p.lrMax, milestones: [Math.floor(T / 2), Math.floor(T * 0.75)] }),
    epochs: p.epochs,
    snapshots: last,
  });
  const snaps = await run(snapshotRun(p, T));
  const swa = await trainSwa(p, spe, run);
  const fgeSnaps = await trainFge(p, T, run);
  const memberEpochs = p.epochs / p.cycles;
  const independent = await run({
    label: "true-equal",
    schedule: cosineAnnealing({ lrMax: p.lrMax, totalSteps: memberEpochs * spe, cycles: 1 }),
    epochs: memberEpochs,
    snapshots: atCycleEnds(),
    replicas: p.cycles,
  });
  const memberProbs = await ensemble(snaps, { backend }).memberProba(options.validation.x);
  const pick = selectMembers(memberProbs, options.validation.y as Int32Array, {
    method: "greedy",
  });
  const methods: TrainedMethod[] = [
    { id: "single-cosine", snapshots: single, trainSteps: T },
    { id: "single-step", snapshots: step, trainSteps: T },
    { id: "snapshot", snapshots: snaps, trainSteps: T },
    {
      id: "snapshot-selected",
      snapshots: pick.members.map((m) => snaps[m]),
      weights: pick.weights,
      trainSteps: T,
    },
    { id: "swa", snapshots: [averageWeights(swa)], trainSteps: T },
    { id: "fge", snapshots: fgeSnaps, trainSteps: T },
    { id: "true-equal", snapshots: independent, trainSteps: T },
  ];
  if (options.fullCost) {
    const full = await run({
      label: "true-full",
      schedule: cosineAnnealing({ lrMax: p.lrMax, totalSteps: T, cycles: 1 }),
      epochs: p.epochs,
      snapshots: atCycleEnds(),
      replicas: p.cycles,
    });
    methods.push({ id: "true-full", snapshots: full, trainSteps: p.cycles * T });
  }
  return { methods, snapshots: snaps, independent };
}

/**
 * SWA at equal cost: a cosine decay over the first 75% of the budget down to `lrMax / 10`, held
 * there for the last 25%, one snapshot per epoch of that phase, their weights averaged.
 */
function trainSwa(
  p: Protocol,
  spe: number,
  run: (a: RunArgs) => Promise<ReadonlyArray<Snapshot>>,
) {
  const startEpoch = Math.min(p.epochs - 1, Math.max(1, Math.floor(p.epochs * 0.75)));
  const low = p.lrMax / 10;
  return run({
    label: "swa",
    schedule: sequence([
      {
        schedule: cosineDecay({ lrMax: p.lrMax, totalSteps: startEpoch * spe, lrMin: low }),
        steps: startEpoch * spe,
      },
      { schedule: swaLr({ swaLr: low, annealSteps: 0, startLr: low }) },
    ]),
    epochs: p.epochs,
    snapshots: everyEpochs(1, { from: startEpoch }),
  });
}

/**
 * FGE at equal cost (Garipov et al. 2018): a cosine decay over the first half of the budget down
 * to `lr1 = lrMax / 2`, then M cycles between `lr1` and `lr2 = lrMax / 100`, sized so that the M-th
 * midpoint (where the snapshots are taken) falls at the end of the budget.
 */
function trainFge(p: Protocol, T: number, run: (a: RunArgs) => Promise<ReadonlyArray<Snapshot>>) {
  const warm = Math.floor(T / 2);
  const lr1 = p.lrMax / 2;
  const cycleLength = Math.max(2, 2 * Math.floor((T - warm) / (2 * p.cycles - 1)));
  return run({
    label: "fge",
    schedule: sequence([
      { schedule: cosineDecay({ lrMax: p.lrMax, totalSteps: warm, lrMin: lr1 }), steps: warm },
      { schedule: fge({ cycleLength, lr1, lr2: p.lrMax / 100 }) },
    ]),
    epochs: p.epochs,
    snapshots: atCycleEnds(),
  });
}

async function* tapEpochs<T extends { type: string }>(
  events: AsyncIterable<T>,
  see: (event: EpochEvent) => void,
): AsyncGenerator<T> {
  for await (const event of events) {
    if (event.type === "epoch") see(event as unknown as EpochEvent);
    yield event;
  }
}
