/**
 * The MNIST study's analysis of one seed, as in the paper: the ensemble-size curve forward and
 * backward (Fig. 3), the snapshots' pairwise disagreement (Fig. 6) and the test loss on the
 * straight line between consecutive snapshots, beside two independently trained networks (Fig. 5).
 * `saveStudy` writes them as SVG with the snapshot ensemble file.
 *
 * @module
 */
import { join } from "node:path";
import {
  accuracy,
  type Backend,
  ensemble,
  logLoss,
  pairwiseDisagreement,
  type Snapshot,
} from "../mod.ts";
import type { EnsembleOrderPoint, InterpolationPoint, VegaLiteSpec } from "../plots.ts";
import type { SeedRun } from "./_mnist_methods.ts";

type Rows = { readonly x: Float32Array; readonly y: Int32Array };

function mean(members: ReadonlyArray<Float32Array>): Float32Array {
  const out = new Float32Array(members[0].length);
  for (const p of members) for (let i = 0; i < p.length; i++) out[i] += p[i] / members.length;
  return out;
}

/** Test error of the first m and of the last m snapshots, m = 1..M. */
export async function orderCurve(
  snapshots: ReadonlyArray<Snapshot>,
  test: Rows,
  backend: Backend,
): Promise<EnsembleOrderPoint[]> {
  const probs = await ensemble(snapshots, { backend }).memberProba(test.x);
  const M = probs.length;
  return probs.map((_, k) => ({
    members: k + 1,
    forwardError: 1 - accuracy(mean(probs.slice(0, k + 1)), test.y),
    backwardError: 1 - accuracy(mean(probs.slice(M - k - 1)), test.y),
  }));
}

/** [M][M] pairwise disagreement of the members' predicted classes. */
export async function disagreementMatrix(
  snapshots: ReadonlyArray<Snapshot>,
  test: Rows,
  backend: Backend,
): Promise<number[][]> {
  const probs = await ensemble(snapshots, { backend }).memberProba(test.x);
  return probs.map((a, i) =>
    probs.map((b, j) => (i === j ? 0 : pairwiseDisagreement([a, b], a.length / test.y.length)))
  );
}

/** Test log-loss at `(1 - t) a + t b` for t = 0, 0.1, ..., 1. */
export async function interpolate(
  pair: string,
  a: Snapshot,
  b: Snapshot,
  test: Rows,
  backend: Backend,
): Promise<InterpolationPoint[]> {
  const ts = Array.from({ length: 11 }, (_, k) => k / 10);
  const members = ts.map((t, k): Snapshot => ({
    ...a,
    index: k + 1,
    replica: undefined,
    params: Float32Array.from(a.params, (v, i) => (1 - t) * v + t * b.params[i]),
  }));
  const probs = await ensemble(members, { backend }).memberProba(test.x);
  return ts.map((t, k) => ({ pair, t, loss: logLoss(probs[k], test.y) }));
}

/** Writes the three charts and the snapshot ensemble file into `dir`; returns the paths. */
export async function saveStudy(
  dir: string,
  run: SeedRun,
  test: Rows,
  backend: Backend,
): Promise<string[]> {
  const { saveEnsemble, saveText } = await import("../io.ts");
  const plots = await import("../plots.ts");
  await Deno.mkdir(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const snaps = run.snapshots;
  await saveEnsemble(file("mnist_snapshots.safetensors"), { snapshots: snaps });
  const lines: InterpolationPoint[] = [];
  for (let i = 0; i + 1 < snaps.length; i++) {
    lines.push(
      ...await interpolate(`snapshots ${i + 1}-${i + 2}`, snaps[i], snaps[i + 1], test, backend),
    );
  }
  const [a, b] = run.independent;
  lines.push(...await interpolate("two independent networks", a, b, test, backend));
  const charts: [string, VegaLiteSpec][] = [
    ["mnist_ensemble_order.svg", plots.ensembleOrderChart(await orderCurve(snaps, test, backend))],
    [
      "mnist_disagreement.svg",
      plots.disagreementHeatmap(
        await disagreementMatrix(snaps, test, backend),
        snaps.map((s) => `snapshot ${s.index}`),
      ),
    ],
    ["mnist_interpolation.svg", plots.interpolationChart(lines)],
  ];
  for (const [name, spec] of charts) await saveText(file(name), await plots.renderSvg(spec));
  return ["mnist_snapshots.safetensors", ...charts.map(([n]) => n)].map(file);
}
