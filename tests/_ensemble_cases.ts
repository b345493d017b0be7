/**
 * Ensemble test bodies shared by every backend (registered from tests/_backend_cases.ts): the same
 * ensemble predicts the same through a backend as on the CPU oracle (`ensemble()` without a
 * backend), for every vote rule, weights, member choice, temperature and head; one stacked call per
 * prediction; and member order does not matter on the device either.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Backend, ensemble, initParams, mlp, type Snapshot } from "../mod.ts";
import { argmaxRows } from "../lib/metrics.ts";
import type { CpuEnsembleOptions } from "../lib/ensemble/mod.ts";
import { assertClose } from "./_backend_cases.ts";

type Register = (title: string, fn: () => Promise<void>) => void;

function snapshotsOf(spec: ReturnType<typeof mlp>, m: number, seed: number): Snapshot[] {
  return Array.from({ length: m }, (_, i) => ({
    index: i + 1,
    epoch: i,
    step: 10 * i,
    lr: 0,
    spec,
    params: initParams(spec, { seed: seed + 13 * i }),
  }));
}

/** Deterministic rows in [-2, 2). */
function rowsOf(n: number, inDim: number): Float32Array {
  return Float32Array.from({ length: n * inDim }, (_, k) => ((k * 7919) % 400) / 100 - 2);
}

/** Rows whose argmax is clear (top-two margin above 1e-4) for every member on the CPU. */
function clearRows(members: ReadonlyArray<Float32Array>, classes: number): boolean[] {
  const n = members[0].length / classes;
  return Array.from({ length: n }, (_, r) =>
    members.every((p) => {
      const row = Array.from(p.subarray(r * classes, (r + 1) * classes)).sort((a, b) => b - a);
      return row[0] - row[1] > 1e-4;
    }));
}

async function withBackend(make: () => Promise<Backend>, body: (b: Backend) => Promise<void>) {
  const backend = await make();
  try {
    await body(backend);
  } finally {
    backend.dispose();
  }
}

const TOL = { rel: 1e-5, abs: 1e-6 };

/** Registers the ensemble cases for one backend factory. */
export function registerEnsembleCases(test: Register, make: () => Promise<Backend>): void {
  test("ensemble on the backend predicts what the CPU ensemble predicts", () =>
    withBackend(make, async (backend) => {
      const spec = mlp({ layers: [3, 9, 4], activation: "tanh" });
      const snapshots = snapshotsOf(spec, 5, 31);
      const n = 37;
      const x = rowsOf(n, 3);
      const cases: ReadonlyArray<CpuEnsembleOptions> = [
        {},
        { weights: [1, 0, 3, 2, 1] },
        { last: 3 },
        { members: [4, 1, 2] },
        { temperature: 1.7 },
        { vote: "hard" },
        { vote: "hard", weights: [2, 1, 1, 1, 3] },
      ];
      for (const options of cases) {
        const label = JSON.stringify(options);
        const cpu = ensemble(snapshots, options);
        const device = ensemble(snapshots, { ...options, backend });
        const members = cpu.memberProbaSync(x);
        assertClose(
          (await device.memberProba(x)).flatMap((p) => [...p]),
          members.flatMap((p) => [...p]),
          {
            ...TOL,
            label: `${label} members`,
          },
        );
        const before = backend.readbacks;
        const proba = await device.predictProba(x);
        // One stacked prediction: at most one readback per call, whatever the rule.
        assert.equal(backend.readbacks - before, backend.readCost === "free" ? 0 : 1, label);
        const expected = cpu.predictProbaSync(x);
        if (options.vote === "hard") {
          // A vote can flip where a member's top two classes tie to float rounding; compare the rest.
          const clear = clearRows(members, 4);
          assert.ok(clear.filter(Boolean).length >= n - 2, `${label}: too many near-ties`);
          for (let r = 0; r < n; r++) {
            if (!clear[r]) continue;
            assertClose(proba.subarray(4 * r, 4 * r + 4), expected.subarray(4 * r, 4 * r + 4), {
              ...TOL,
              label: `${label} row ${r}`,
            });
          }
        } else {
          assertClose(proba, expected, { ...TOL, label: `${label} proba` });
        }
        assert.deepEqual(await device.predict(x), argmaxRows(proba, 4), `${label} classes`);
      }
      const reg = mlp({ layers: [2, 6, 3], activation: "relu", head: "linear" });
      const regs = snapshotsOf(reg, 3, 7);
      const xr = rowsOf(11, 2);
      assertClose(
        await ensemble(regs, { backend, weights: [1, 2, 3] }).predictProba(xr),
        ensemble(regs, { weights: [1, 2, 3] }).predictProbaSync(xr),
        { ...TOL, label: "linear head mean" },
      );
      await assert.rejects(
        ensemble(regs, { backend }).predict(xr),
        /Cannot predict classes: spec\.head must be "softmax"/,
      );
      await assert.rejects(
        ensemble(snapshots, { backend }).predictProba(new Float32Array(4)),
        /Cannot predict: x must hold whole rows of inDim = 3 values/,
      );
    }));

  test("ensemble on the backend does not depend on member order (property)", () =>
    withBackend(make, async (backend) => {
      const spec = mlp({ layers: [2, 5, 3], activation: "sigmoid" });
      const snapshots = snapshotsOf(spec, 4, 5);
      const x = rowsOf(9, 2);
      await fc.assert(
        fc.asyncProperty(
          fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }),
          fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 4, maxLength: 4 }),
          fc.constantFrom("soft", "hard") as fc.Arbitrary<"soft" | "hard">,
          async (order, weights, vote) => {
            const reference = await ensemble(snapshots, { weights, vote, backend }).predictProba(x);
            const permuted = await ensemble(order.map((i) => snapshots[i]), {
              weights: order.map((i) => weights[i]),
              vote,
              backend,
            }).predictProba(x);
            assert.deepEqual(permuted, reference);
          },
        ),
        { seed: 2017, numRuns: 12 },
      );
    }));
}
