// Shared by the export tests: small ensembles with non-zero biases, test rows, the external tools
// (Debian's python3-onnx and python3-torch, onnxruntime-node) and whether a missing one fails (CI).
import {
  type CpuEnsemble,
  ensemble,
  initParams,
  mlp,
  type MlpSpec,
  type Snapshot,
} from "../mod.ts";

/** Under CI a missing external tool fails the test instead of skipping it. */
export const IN_CI: boolean = Deno.env.get("CI") !== undefined;
export const PYTHON = "/usr/bin/python3";
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** Snapshots of one spec whose parameters (biases included) are all non-zero. */
export function snapshotsOf(spec: MlpSpec, count: number): Snapshot[] {
  return Array.from({ length: count }, (_, i) => {
    const params = initParams(spec, { seed: 11 + i });
    for (let k = 0; k < params.length; k++) params[k] += 0.05 * Math.sin(7.1 * k + i);
    return { index: i + 1, epoch: 3 * i + 2, step: 30 * i + 29, lr: 0.01 / (i + 1), spec, params };
  });
}

/** `[n, inDim]` deterministic rows in about [-2, 2]. */
export function rowsOf(n: number, inDim: number): Float32Array {
  return Float32Array.from({ length: n * inDim }, (_, i) => 2 * Math.sin(1.7 * i + 0.3));
}

/** A named ensemble case. */
export interface ExportCase {
  readonly name: string;
  readonly model: CpuEnsemble;
}

/** Classification (1 and 10 members, weights, hard vote, temperature) and regression ensembles. */
export function exportCases(): ExportCase[] {
  const classifier = mlp({ layers: [5, 16, 12, 4], activation: "tanh" });
  const regressor = mlp({ layers: [3, 9, 2], head: "linear", activation: "sigmoid" });
  const ten = snapshotsOf(classifier, 10);
  const weights = ten.map((_, i) => i + 1);
  return [
    { name: "classifier, 1 member", model: ensemble(ten.slice(0, 1)) },
    { name: "classifier, 10 members, weights", model: ensemble(ten, { weights }) },
    { name: "classifier, 10 members, hard vote", model: ensemble(ten, { vote: "hard", weights }) },
    {
      name: "classifier, 10 members, temperature 1.7",
      model: ensemble(ten, { weights, temperature: 1.7 }),
    },
    { name: "regressor, 1 member", model: ensemble(snapshotsOf(regressor, 1)) },
    {
      name: "regressor, 10 members, weights",
      model: ensemble(snapshotsOf(regressor, 10), { weights }),
    },
  ];
}

/** snapfold's own prediction (the ensemble applies its temperature as `softmax(log(p) / T)`). */
export function expected(c: ExportCase, x: Float32Array, n: number): Float64Array {
  return Float64Array.from(c.model.predictProbaSync(x, n));
}

/** Whether `/usr/bin/python3` imports `module`. */
export function hasPython(module: string): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", `import ${module}`], stderr: "null" })
      .outputSync().code === 0;
  } catch {
    return false;
  }
}

/** Runs a committed Python tool and parses its JSON output. */
export async function runPython(script: string, args: string[]): Promise<unknown> {
  const out = await new Deno.Command(PYTHON, {
    args: [`${ROOT}tools/${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (out.code !== 0) throw new Error(`${script} failed: ${text.decode(out.stderr)}`);
  return JSON.parse(text.decode(out.stdout));
}

/** Largest absolute difference. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Warns once that a test is skipped because a tool is missing (outside CI). */
export function warnMissing(test: string, what: string, install: string): void {
  if (!IN_CI) console.warn(`${test} skipped: ${what} is missing; ${install} (CI fails instead)`);
}
