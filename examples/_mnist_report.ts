/**
 * The MNIST study's summary over seeds: mean and sample standard deviation of every score, and the
 * paired differences of every method against `single-cosine` (same seed, same initial weights and
 * batch order), in the exact shape of `examples/mnist.ts --json`.
 *
 * @module
 */
import type { MethodComparison } from "../mod.ts";

/** A mean and a sample standard deviation (0 for one seed). */
export interface MeanSd {
  readonly mean: number;
  readonly sd: number;
}

/** One method over K seeds. */
export interface MethodSummary {
  readonly id: string;
  readonly accuracy: MeanSd;
  readonly logLoss: MeanSd;
  readonly logLossTemperature: MeanSd;
  readonly ece: MeanSd;
  /**
   * Mean of the members' pairwise disagreement over the seeds where the method has two or more
   * members; null when it never has (a single model, SWA).
   */
  readonly disagreement: number | null;
  readonly trainSteps: number;
  readonly members: number;
}

/** One method minus `single-cosine`, paired by seed. */
export interface PairedSummary {
  readonly id: string;
  readonly accuracyDiff: MeanSd;
  readonly logLossDiff: MeanSd;
}

/** The study's JSON object. */
export interface StudySummary<P> {
  readonly protocol: P;
  readonly seeds: number;
  readonly methods: ReadonlyArray<MethodSummary>;
  readonly paired: ReadonlyArray<PairedSummary>;
}

/** The mean and the sample standard deviation of `values` (sd 0 for a single value). */
export function meanSd(values: ReadonlyArray<number>): MeanSd {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: 0 };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (n - 1)) };
}

/** The baseline of the paired differences. */
export const BASELINE = "single-cosine";

/**
 * Summarises the rows of every seed (`perSeed[s]`: that seed's `compareMethods` rows, the same
 * ids in the same order for every seed).
 */
export function summarise<P>(
  protocol: P,
  perSeed: ReadonlyArray<ReadonlyArray<MethodComparison>>,
): StudySummary<P> {
  const ids = perSeed[0].map((r) => r.id);
  const rowsOf = (id: string) => perSeed.map((rows) => rows.find((r) => r.id === id)!);
  const methods = ids.map((id): MethodSummary => {
    const rows = rowsOf(id);
    const d = rows.map((r) => r.disagreement);
    return {
      id,
      accuracy: meanSd(rows.map((r) => r.accuracy)),
      logLoss: meanSd(rows.map((r) => r.logLoss)),
      logLossTemperature: meanSd(rows.map((r) => r.logLossTemperature)),
      ece: meanSd(rows.map((r) => r.ece)),
      disagreement: d.every((v) => v === null)
        ? null
        : meanSd(d.filter((v): v is number => v !== null)).mean,
      trainSteps: rows[0].trainSteps,
      members: Math.round(meanSd(rows.map((r) => r.members)).mean),
    };
  });
  const base = rowsOf(BASELINE);
  const paired = ids.filter((id) => id !== BASELINE).map((id): PairedSummary => {
    const rows = rowsOf(id);
    return {
      id,
      accuracyDiff: meanSd(rows.map((r, s) => r.accuracy - base[s].accuracy)),
      logLossDiff: meanSd(rows.map((r, s) => r.logLoss - base[s].logLoss)),
    };
  });
  return { protocol, seeds: perSeed.length, methods, paired };
}

const pm = (m: MeanSd, digits: number, seeds: number) =>
  seeds > 1 ? `${m.mean.toFixed(digits)}±${m.sd.toFixed(digits)}` : m.mean.toFixed(digits);

/** The summary as aligned text tables (methods, then paired differences). */
export function summaryText<P>(summary: StudySummary<P>): string {
  const k = summary.seeds;
  const w = k > 1 ? 15 : 8;
  const lines = [
    `${"method".padEnd(18)} ${"accuracy".padStart(w)} ${"log-loss".padStart(w)} ` +
    `${"log-loss T".padStart(w)} ${"ECE".padStart(w)} ${"disagree".padStart(8)} ` +
    `${"members".padStart(7)} ${"steps".padStart(7)}`,
  ];
  for (const m of summary.methods) {
    lines.push(
      `${m.id.padEnd(18)} ${pm(m.accuracy, 4, k).padStart(w)} ${pm(m.logLoss, 4, k).padStart(w)} ` +
        `${pm(m.logLossTemperature, 4, k).padStart(w)} ${pm(m.ece, 4, k).padStart(w)} ` +
        `${(m.disagreement === null ? "-" : m.disagreement.toFixed(4)).padStart(8)} ` +
        `${String(m.members).padStart(7)} ${String(m.trainSteps).padStart(7)}`,
    );
  }
  lines.push("", `Paired against ${BASELINE} (method minus baseline, same seed):`);
  lines.push(
    `${"method".padEnd(18)} ${"accuracy diff".padStart(17)} ${"log-loss diff".padStart(17)}`,
  );
  for (const p of summary.paired) {
    lines.push(
      `${p.id.padEnd(18)} ${pm(p.accuracyDiff, 4, k).padStart(17)} ` +
        `${pm(p.logLossDiff, 4, k).padStart(17)}`,
    );
  }
  return lines.join("\n");
}
