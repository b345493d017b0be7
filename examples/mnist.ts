/**
 * The paper's experiment on real data, done honestly: the `mnist` package's 10,000 digits split
 * (seeded) into 7000 training, 1000 validation and 2000 test digits, an MLP 784-256-10, and every
 * way of spending the same budget of E epochs of one network, each a stable id:
 *
 * - `single-cosine`: one cosine cycle over E epochs (the baseline of the paired differences);
 * - `single-step`: step decay (x0.1 at 50% and 75% of the budget), the paper's baseline;
 * - `snapshot`: ONE run of M cosine cycles, a snapshot at the end of each, all M averaged;
 * - `snapshot-selected`: those snapshots chosen and weighted on validation (greedy selection);
 * - `swa`: a decay, then a constant lr with one snapshot per epoch, weights averaged;
 * - `fge`: a decay over half the budget, then M short FGE cycles, a snapshot at each midpoint;
 * - `true-equal`: M independently initialised networks of E / M epochs each;
 * - `true-full` (with `--full-cost`): M networks of E epochs each, M times the cost.
 *
 * Temperature scaling and member selection use the validation digits; the test digits only score.
 * With `--seeds K` it reports the mean and standard deviation over K seeds and the paired
 * differences against `single-cosine`.
 *
 * ```sh
 * deno run examples/mnist.ts                       # the default protocol, one seed
 * deno run examples/mnist.ts --seeds 3 --full-cost --json
 * deno run --allow-read=out --allow-write=out examples/mnist.ts --save out   # + charts and file
 * ```
 *
 * @module
 */
import {
  compareMethods,
  createBackend,
  type MethodComparison,
  summary as modelSummary,
} from "../mod.ts";
import { type Progress, progress } from "./_progress.ts";
import { checkWritable, type CliSpec, type CliValues, refuse, runCli } from "./_cli.ts";
import { loadMnist, type MnistData, splitMnist } from "./_mnist_data.ts";
import { type Protocol, type SeedRun, studyModel, trainMethods } from "./_mnist_methods.ts";
import { summarise, summaryText } from "./_mnist_report.ts";

/**
 * The default protocol: the winner of tools/mnist_protocol_search.ts, chosen on the validation
 * digits (bench/mnist_protocol_search.json; the README's MNIST section).
 */
export const DEFAULT_PROTOCOL: Protocol = {
  epochs: 60,
  cycles: 5,
  lrMax: 0.3,
  augment: 2,
  dropout: 0,
  batchSize: 128,
  hidden: 256,
  momentum: 0.9,
};

const CLI = {
  script: "examples/mnist.ts",
  summary: "Real data: the mnist package's digits (7000 train, 1000 validation, 2000 test), an " +
    "MLP 784-256-10, and every way of spending the same budget: single models, a snapshot " +
    "ensemble (all, or chosen on validation), SWA, FGE and true ensembles, with temperature " +
    "scaling fitted on validation. Prints one comparison table.",
  flags: {
    backend: {
      kind: "choice",
      choices: ["wasm", "cpu", "webgpu", "auto"],
      default: "wasm",
      help: "compute backend (wasm: the fastest on a CPU)",
    },
    seeds: { kind: "int", default: 1, min: 1, max: 100, help: "seeds 1..K, paired" },
    epochs: {
      kind: "int",
      default: DEFAULT_PROTOCOL.epochs,
      min: 1,
      max: 10_000,
      help: "budget E: epochs of one network",
    },
    cycles: {
      kind: "int",
      default: DEFAULT_PROTOCOL.cycles,
      min: 2,
      max: 1000,
      help: "cycles M (snapshots, and networks of the true ensembles)",
    },
    "lr-max": {
      kind: "number",
      default: DEFAULT_PROTOCOL.lrMax,
      above: 0,
      max: 100,
      help: "peak (restart) lr",
    },
    augment: {
      kind: "int",
      default: DEFAULT_PROTOCOL.augment,
      min: 0,
      max: 8,
      help: "largest random shift of the digits in pixels (0: none)",
    },
    dropout: {
      kind: "choice",
      choices: ["0", "0.1", "0.2", "0.3", "0.5"],
      default: String(DEFAULT_PROTOCOL.dropout),
      help: "dropout rate after the hidden layer",
    },
    "full-cost": { kind: "bool", help: "also train true-full: M networks of E epochs each" },
    score: {
      kind: "choice",
      choices: ["test", "validation"],
      default: "test",
      help: "score on the test digits, or (to choose a protocol) on half the validation digits",
    },
    save: { kind: "path", help: "write the charts and the snapshot ensemble file into DIR" },
    json: { kind: "bool", help: "print one JSON object on stdout instead of the tables" },
  },
} as const satisfies CliSpec;

type Flags = CliValues<typeof CLI>;

/** The three parts of the digits (seed 0, always the same). */
export function studySplits(data: MnistData, score: "test" | "validation") {
  const { train, test } = splitMnist(data, { trainSize: 8000, testSize: 2000, seed: 0 });
  const part = (from: number, to: number) => ({
    x: train.x.slice(from * 784, to * 784),
    y: train.y.slice(from, to),
    n: to - from,
  });
  const trainSet = part(0, 7000);
  if (score === "test") return { train: trainSet, validation: part(7000, 8000), test };
  // Choosing a protocol: temperature and selection on one half of validation, scores on the other.
  return { train: trainSet, validation: part(7000, 7500), test: part(7500, 8000) };
}

function protocolOf(flags: Flags, backend: string): Protocol & { backend: string } {
  return {
    ...DEFAULT_PROTOCOL,
    epochs: flags.epochs,
    cycles: flags.cycles,
    lrMax: flags.lrMax,
    augment: flags.augment,
    dropout: Number(flags.dropout),
    backend,
  };
}

async function main(flags: Flags): Promise<void> {
  refuse(CLI, [
    ...(flags.epochs % flags.cycles === 0 ? [] : [
      `--epochs must be a multiple of --cycles, so that each network of true-equal trains ` +
      `epochs / cycles epochs: got ${flags.epochs} and ${flags.cycles}`,
    ]),
  ]);
  if (flags.save !== undefined) await checkWritable(CLI, flags.save);
  const log = (line: string) => flags.json ? undefined : console.log(line);
  const splits = studySplits(await loadMnist(), flags.score);
  const backend = await createBackend(flags.backend);
  const protocol = protocolOf(flags, backend.kind);
  try {
    log(
      `MNIST: ${splits.train.n} train, ${splits.validation.n} validation, ${splits.test.n} ` +
        `${flags.score} digits; MLP 784-${protocol.hidden}-10, batch ${protocol.batchSize}, SGD ` +
        `momentum ${protocol.momentum}; E = ${protocol.epochs} epochs, M = ${protocol.cycles}, ` +
        `lr ${protocol.lrMax}, shift ${protocol.augment}, dropout ${protocol.dropout}; ` +
        `${backend.kind}${backend.adapter ? ` (${backend.adapter})` : ""}`,
    );
    log(modelSummary(studyModel(protocol)).text);
    const perSeed: MethodComparison[][] = [];
    let first: SeedRun | undefined;
    for (let seed = 1; seed <= flags.seeds; seed++) {
      let line: Progress | undefined;
      let label = "";
      const run = await trainMethods({
        protocol,
        backend,
        data: splits.train,
        validation: splits.validation,
        seed,
        fullCost: flags.fullCost,
        onEpoch: (name, epochs, e) => {
          if (name !== label) {
            line?.done();
            label = name;
            line = progress(`seed ${seed}/${flags.seeds} ${name}`, epochs, !flags.json);
          }
          line!.update({ epoch: e.epoch + 1, snapshots: 0, lr: e.lr, loss: e.loss });
        },
      });
      line?.done();
      first ??= run;
      const rows = await compareMethods({
        test: { x: splits.test.x, y: splits.test.y },
        validation: { x: splits.validation.x, y: splits.validation.y },
        methods: run.methods,
        backend,
      });
      perSeed.push(rows);
    }
    const summary = summarise(protocol, perSeed);
    if (flags.json) console.log(JSON.stringify(summary));
    else log(summaryText(summary));
    if (flags.save !== undefined) {
      const { saveStudy } = await import("./_mnist_charts.ts");
      const written = await saveStudy(flags.save, first!, splits.test, backend);
      log(`Wrote ${written.join(", ")}`);
    }
  } finally {
    backend.dispose();
  }
}

if (import.meta.main) await runCli(CLI, main);
