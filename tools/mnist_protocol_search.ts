/**
 * The MNIST study's protocol search (issue 13): which budget E, cycles M, restart lr, shift and
 * dropout make the snapshot ensemble do best against the temperature-scaled single model at equal
 * cost, chosen on validation digits only.
 *
 * Every candidate of {@linkcode CANDIDATES} (fixed here before any of them was run) trains the
 * study's `single-cosine` and `snapshot` runs (the configs of examples/mnist.ts, through
 * `studyTrainConfig`) for seeds 1..K and scores them as `examples/mnist.ts --score validation`
 * does: temperature fitted on validation digits 7000-7499 of the split, scores on 7500-7999. The
 * 2000 test digits are never scored. The other methods of the study are not trained: the rule
 * looks at these two only, and they cost a third of the study.
 *
 * The rule ({@linkcode selectProtocol}), stated before the run: a candidate is eligible when the
 * snapshot ensemble's mean validation error over the seeds is not above `single-cosine`'s; among
 * the eligible, the winner has the largest mean paired advantage in log-loss of the snapshot
 * ensemble over the temperature-scaled single model (`single-cosine`'s log-loss after temperature
 * minus `snapshot`'s log-loss, same seed), compared at 4 decimals; ties go to the smaller budget E,
 * then to the earlier candidate. When no candidate is eligible there is no winner and the default
 * stays.
 *
 * ```sh
 * deno run --lock=tools/dev.lock -A tools/mnist_protocol_search.ts --seeds 3 \
 *   --out bench/mnist_protocol_search.json          # trains; prints the markdown table
 * deno run --lock=tools/dev.lock -A tools/mnist_protocol_search.ts \
 *   --table bench/mnist_protocol_search.json        # the table and the winner of a saved run
 * ```
 *
 * @module
 */
import { type Backend, collect, compareMethods, createBackend, train } from "../mod.ts";
import { DEFAULT_PROTOCOL, studySplits } from "../examples/mnist.ts";
import { loadMnist } from "../examples/_mnist_data.ts";
import {
  budgetSteps,
  type Protocol,
  singleCosineRun,
  snapshotRun,
  studyTrainConfig,
} from "../examples/_mnist_methods.ts";
import { type MeanSd, meanSd } from "../examples/_mnist_report.ts";
import { type CliSpec, type CliValues, runCli } from "../examples/_cli.ts";

/** What a candidate sets; batch 128, 784-256-10 and momentum 0.9 are the study's for all. */
export type Candidate = Pick<Protocol, "epochs" | "cycles" | "lrMax" | "augment" | "dropout">;

const c = (epochs: number, cycles: number, lrMax: number, augment: number, dropout: number) => ({
  epochs,
  cycles,
  lrMax,
  augment,
  dropout,
});

/**
 * The candidates, fixed before the search ran. The first six are the earlier search's (the
 * README's); the rest aim at more diverse snapshots: a higher restart lr, larger shifts, dropout
 * with shifts, fewer and more cycles, a longer budget, and combinations of these.
 */
export const CANDIDATES: ReadonlyArray<Candidate> = [
  // The earlier six.
  c(30, 5, 0.2, 0, 0),
  c(30, 5, 0.2, 2, 0),
  c(30, 5, 0.2, 0, 0.2),
  c(30, 3, 0.2, 2, 0),
  c(60, 5, 0.2, 2, 0),
  c(30, 5, 0.2, 2, 0.2),
  // Restart lr 0.4.
  c(30, 5, 0.4, 2, 0),
  c(60, 5, 0.4, 2, 0),
  // Shifts of 3.
  c(30, 5, 0.2, 3, 0),
  c(60, 5, 0.2, 3, 0),
  c(60, 5, 0.4, 3, 0),
  // Dropout with shifts.
  c(60, 5, 0.2, 2, 0.2),
  c(60, 5, 0.2, 2, 0.3),
  c(60, 5, 0.2, 3, 0.2),
  c(60, 5, 0.4, 2, 0.2),
  c(30, 5, 0.2, 3, 0.3),
  // Fewer and more cycles at E = 60.
  c(60, 3, 0.2, 2, 0),
  c(60, 10, 0.2, 2, 0),
  c(60, 3, 0.4, 3, 0),
  c(60, 10, 0.4, 2, 0),
  c(60, 10, 0.2, 3, 0.2),
  // A longer budget.
  c(100, 5, 0.2, 2, 0),
  c(100, 5, 0.2, 3, 0),
  c(100, 5, 0.4, 2, 0),
  c(100, 10, 0.2, 2, 0),
  c(100, 5, 0.2, 2, 0.2),
  c(100, 5, 0.4, 3, 0),
  c(100, 5, 0.2, 3, 0.2),
  c(100, 5, 0.2, 3, 0.3),
  c(100, 10, 0.4, 3, 0),
  c(100, 10, 0.2, 2, 0.2),
  c(100, 4, 0.2, 2, 0),
  c(150, 5, 0.2, 2, 0),
  c(150, 5, 0.2, 3, 0),
  c(150, 10, 0.2, 3, 0),
  // More at E = 60: no augmentation, dropout alone, shifts of 4, restart lr 0.3, and mixes.
  c(60, 5, 0.2, 0, 0),
  c(60, 5, 0.2, 0, 0.3),
  c(60, 5, 0.2, 4, 0),
  c(60, 5, 0.3, 2, 0),
  c(60, 5, 0.4, 3, 0.2),
  c(60, 5, 0.2, 3, 0.3),
  c(30, 3, 0.4, 3, 0),
];

/** E/M/lr/shift/dropout, as the README writes a protocol. */
export function candidateLabel(k: Candidate): string {
  return `${k.epochs}/${k.cycles}/${k.lrMax}/${k.augment}/${k.dropout}`;
}

/** One model's validation scores. */
export interface Scores {
  /** Error in percent. */
  readonly error: number;
  readonly logLoss: number;
  /** Log-loss after temperature scaling (temperature fitted on the other validation half). */
  readonly logLossTemperature: number;
}

/** One seed of one candidate. */
export interface SeedResult {
  readonly seed: number;
  readonly single: Scores;
  readonly snapshot: Scores & { readonly disagreement: number };
  /** Wall-clock seconds of the two runs and their scoring. */
  readonly seconds: number;
}

/** One candidate over the seeds. */
export interface CandidateResult {
  readonly label: string;
  readonly candidate: Candidate;
  readonly seeds: ReadonlyArray<SeedResult>;
  readonly single: { readonly [K in keyof Scores]: MeanSd };
  readonly snapshot: { readonly [K in keyof Scores]: MeanSd } & {
    readonly disagreement: number;
  };
  /** `snapshot` minus `single-cosine`, paired by seed. */
  readonly paired: {
    /** Error, in points. */
    readonly errorDiff: MeanSd;
    readonly logLossDiff: MeanSd;
    /** `snapshot`'s log-loss minus `single-cosine`'s after temperature (the rule's, negated). */
    readonly logLossVsTemperature: MeanSd;
    /** Both after temperature. */
    readonly temperatureDiff: MeanSd;
  };
  readonly seconds: number;
}

/** Mean and sd of every score, and the paired differences. */
export function summariseCandidate(
  candidate: Candidate,
  seeds: ReadonlyArray<SeedResult>,
): CandidateResult {
  const of = (pick: (s: SeedResult) => number) => meanSd(seeds.map(pick));
  const scores = (side: "single" | "snapshot") => ({
    error: of((s) => s[side].error),
    logLoss: of((s) => s[side].logLoss),
    logLossTemperature: of((s) => s[side].logLossTemperature),
  });
  return {
    label: candidateLabel(candidate),
    candidate,
    seeds,
    single: scores("single"),
    snapshot: { ...scores("snapshot"), disagreement: of((s) => s.snapshot.disagreement).mean },
    paired: {
      errorDiff: of((s) => s.snapshot.error - s.single.error),
      logLossDiff: of((s) => s.snapshot.logLoss - s.single.logLoss),
      logLossVsTemperature: of((s) => s.snapshot.logLoss - s.single.logLossTemperature),
      temperatureDiff: of((s) => s.snapshot.logLossTemperature - s.single.logLossTemperature),
    },
    seconds: seeds.reduce((a, s) => a + s.seconds, 0),
  };
}

/** Whether the rule admits a candidate: snapshot's mean error not above single-cosine's. */
export function eligible(r: CandidateResult): boolean {
  // Errors are multiples of 100 / 500 points per seed: round away float noise before comparing.
  return Math.round(r.paired.errorDiff.mean * 1e6) <= 0;
}

/** The rule's score: mean paired log-loss advantage over the temperature-scaled single model. */
export function advantage(r: CandidateResult): number {
  return -r.paired.logLossVsTemperature.mean;
}

/**
 * The rule (see the module comment): the index of the winner in `results`, or -1 when no
 * candidate is eligible.
 */
export function selectProtocol(results: ReadonlyArray<CandidateResult>): number {
  let best = -1;
  for (const [i, r] of results.entries()) {
    if (!eligible(r)) continue;
    if (best < 0) {
      best = i;
      continue;
    }
    const a = Math.round(advantage(r) * 1e4);
    const b = Math.round(advantage(results[best]) * 1e4);
    if (a > b || (a === b && r.candidate.epochs < results[best].candidate.epochs)) best = i;
  }
  return best;
}

/** Validation rows of the study's `--score validation` split. */
type Splits = ReturnType<typeof studySplits>;

/** Trains and scores one candidate for one seed. */
export async function runCandidate(
  candidate: Candidate,
  seed: number,
  on: { readonly backend: Backend; readonly splits: Splits },
): Promise<SeedResult> {
  const start = performance.now();
  const p: Protocol = { ...DEFAULT_PROTOCOL, ...candidate };
  const data = on.splits.train;
  const T = budgetSteps(p, data.n);
  const snapshotsOf = async (run: ReturnType<typeof snapshotRun>) =>
    (await collect(train(studyTrainConfig(p, { backend: on.backend, data, seed }, run))))
      .snapshots;
  const single = await snapshotsOf(singleCosineRun(p, T));
  const snaps = await snapshotsOf(snapshotRun(p, T));
  // studySplits(_, "validation") names its second validation half `test`: it is not the test set.
  const [one, ens] = await compareMethods({
    test: on.splits.test,
    validation: on.splits.validation,
    methods: [
      { id: "single-cosine", snapshots: single, trainSteps: T },
      { id: "snapshot", snapshots: snaps, trainSteps: T },
    ],
    backend: on.backend,
  });
  const scores = (r: typeof one): Scores => ({
    error: 100 * (1 - r.accuracy),
    logLoss: r.logLoss,
    logLossTemperature: r.logLossTemperature,
  });
  return {
    seed,
    single: scores(one),
    snapshot: { ...scores(ens), disagreement: ens.disagreement ?? 0 },
    seconds: (performance.now() - start) / 1000,
  };
}

/** The saved search. */
export interface SearchFile {
  readonly format: "snapfold-mnist-protocol-search/1";
  readonly seeds: number;
  readonly backend: string;
  readonly rule: string;
  /** False while the search is still running (the file is rewritten after every candidate). */
  readonly complete: boolean;
  readonly results: ReadonlyArray<CandidateResult>;
  /** The winner's label, or null when no candidate is eligible. */
  readonly winner: string | null;
  readonly seconds: number;
}

/** The rule in words, saved with the results. */
export const RULE = "eligible: snapshot's mean validation error <= single-cosine's; winner: the " +
  "eligible candidate with the largest mean paired (single-cosine log-loss after temperature " +
  "minus snapshot log-loss), at 4 decimals; ties: smaller E, then the earlier candidate; no " +
  "eligible candidate: no winner, the default stays";

const f4 = (m: MeanSd) => m.mean.toFixed(4);
const pm = (m: MeanSd, digits: number) =>
  `${m.mean >= 0 ? "+" : ""}${m.mean.toFixed(digits)} ± ${m.sd.toFixed(digits)}`;

/** The search as a markdown table, the winner's line under it. */
export function searchTable(file: SearchFile): string {
  const lines = [
    "| # | E/M/lr/shift/dropout | snapshot error % | single error % | error diff (points) | " +
    "snapshot log-loss | single log-loss | single log-loss (T) | snapshot - single (T) | " +
    "disagreement | eligible | s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [i, r] of file.results.entries()) {
    lines.push(
      `| ${i + 1} | ${r.label} | ${r.snapshot.error.mean.toFixed(2)} | ` +
        `${r.single.error.mean.toFixed(2)} | ${pm(r.paired.errorDiff, 2)} | ` +
        `${f4(r.snapshot.logLoss)} | ${f4(r.single.logLoss)} | ` +
        `${f4(r.single.logLossTemperature)} | ${pm(r.paired.logLossVsTemperature, 4)} | ` +
        `${r.snapshot.disagreement.toFixed(4)} | ${eligible(r) ? "yes" : "no"} | ` +
        `${Math.round(r.seconds)} |`,
    );
  }
  const winner = selectProtocol(file.results);
  lines.push(
    "",
    `${file.results.length} candidates, seeds 1-${file.seeds}, ${file.backend}, ` +
      `${Math.round(file.seconds)} s. Winner: ${
        winner < 0 ? "none (no candidate is eligible)" : file.results[winner].label
      }.`,
  );
  return lines.join("\n");
}

const CLI = {
  script: "tools/mnist_protocol_search.ts",
  summary: "Searches the MNIST study's protocol on validation digits only: trains single-cosine " +
    "and snapshot for every fixed candidate and seeds 1..K, writes the results to OUT and prints " +
    "a markdown table with the rule's winner. With --table FILE it prints a saved search instead.",
  flags: {
    seeds: { kind: "int", default: 3, min: 1, max: 100, help: "seeds 1..K, paired" },
    out: { kind: "path", placeholder: "FILE", help: "write the results (JSON) to FILE" },
    table: { kind: "path", placeholder: "FILE", help: "print the table of a saved search" },
    backend: {
      kind: "choice",
      choices: ["wasm", "cpu"],
      default: "wasm",
      help: "snapfold's backend",
    },
  },
} as const satisfies CliSpec;

async function main(flags: CliValues<typeof CLI>): Promise<void> {
  if (flags.table !== undefined) {
    console.log(searchTable(JSON.parse(await Deno.readTextFile(flags.table))));
    return;
  }
  if (flags.out === undefined) throw new Error("--out FILE (or --table FILE) is required");
  const splits = studySplits(await loadMnist(), "validation");
  const backend = await createBackend(flags.backend);
  const start = performance.now();
  const results: CandidateResult[] = [];
  const save = async (complete: boolean) => {
    const winner = complete ? selectProtocol(results) : -1;
    const file: SearchFile = {
      format: "snapfold-mnist-protocol-search/1",
      seeds: flags.seeds,
      backend: backend.kind,
      rule: RULE,
      complete,
      results,
      winner: winner < 0 ? null : results[winner].label,
      seconds: (performance.now() - start) / 1000,
    };
    await Deno.writeTextFile(flags.out!, JSON.stringify(file, null, 2) + "\n");
    return file;
  };
  try {
    for (const [i, candidate] of CANDIDATES.entries()) {
      const seeds: SeedResult[] = [];
      for (let seed = 1; seed <= flags.seeds; seed++) {
        seeds.push(await runCandidate(candidate, seed, { backend, splits }));
      }
      results.push(summariseCandidate(candidate, seeds));
      const r = results.at(-1)!;
      console.error(
        `${i + 1}/${CANDIDATES.length} ${r.label}: error diff ${pm(r.paired.errorDiff, 2)}, ` +
          `snapshot - single (T) ${pm(r.paired.logLossVsTemperature, 4)}, ` +
          `${Math.round(r.seconds)} s`,
      );
      await save(false);
    }
    console.log(searchTable(await save(true)));
  } finally {
    backend.dispose();
  }
}

if (import.meta.main) await runCli(CLI, main);
