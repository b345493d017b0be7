import assert from "node:assert/strict";
import fc from "fast-check";
import { ensemble, ensembleSizeCurve, regressionSizeCurve } from "../lib/ensemble/mod.ts";
import { createCpuBackend } from "../lib/backend/cpu/backend.ts";
import { ConfigError } from "../lib/errors.ts";
import { accuracy, logLoss, meanSquaredErrorMetric } from "../lib/metrics.ts";
import { forward, initParams, mlp, type MlpSpec } from "../lib/model/mod.ts";
import type { Snapshot } from "../lib/snapshot.ts";

function snapshots(spec: MlpSpec, m: number, seed = 1): Snapshot[] {
  return Array.from({ length: m }, (_, i) => ({
    index: i + 1,
    epoch: 10 * (i + 1) - 1,
    step: 30 * (i + 1) - 1,
    lr: 0,
    spec,
    params: initParams(spec, { seed: seed + 17 * i }),
  }));
}

/** A [1, classes] softmax model that always predicts `cls` (bias 10 there, weights 0). */
function constantVoter(cls: number, classes: number, index: number): Snapshot {
  const spec = mlp({ layers: [1, classes] });
  const params = new Float32Array(2 * classes);
  params[classes + cls] = 10;
  return { index, epoch: index, step: index, lr: 0, spec, params };
}

/** Deterministic inputs: [n, inDim] values in [-3, 3). */
function inputs(n: number, inDim: number): Float32Array {
  return Float32Array.from({ length: n * inDim }, (_, k) => ((k * 7919) % 600) / 100 - 3);
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(a.length, b.length);
  for (let k = 0; k < a.length; k++) {
    assert.ok(Math.abs(a[k] - b[k]) <= tol, `[${k}] ${a[k]} != ${b[k]}`);
  }
}

const spec = mlp({ layers: [2, 16, 3], activation: "relu" });
const members = snapshots(spec, 5);
const x = inputs(40, 2);

Deno.test("soft vote is the mean of the members' softmax probabilities from forward", async () => {
  const model = ensemble(members);
  assert.equal(model.vote, "soft");
  assert.deepEqual(Array.from(model.weights), [0.2, 0.2, 0.2, 0.2, 0.2]);
  const expected = new Float64Array(40 * 3);
  for (const s of members) {
    const p = forward(spec, s.params, x, 40);
    for (let k = 0; k < p.length; k++) expected[k] += p[k] / 5;
  }
  const p = await model.predictProba(x);
  close(p, expected);
  for (let r = 0; r < 40; r++) close([p[3 * r] + p[3 * r + 1] + p[3 * r + 2]], [1], 1e-5);
  const predicted = await model.predict(x, 40);
  for (let r = 0; r < 40; r++) {
    const row = Array.from(expected.subarray(3 * r, 3 * r + 3));
    assert.equal(predicted[r], row.indexOf(Math.max(...row)));
  }
  const each = await model.memberProba(x);
  assert.equal(each.length, 5);
  close(each[3], forward(spec, members[3].params, x, 40));
});

Deno.test("the last m, chosen members and weights select and weigh the right snapshots", async () => {
  const lastTwo = ensemble(members, { last: 2 });
  assert.deepEqual(lastTwo.members.map((s) => s.index), [4, 5]);
  close(await lastTwo.predictProba(x), await ensemble([members[3], members[4]]).predictProba(x));
  const chosen = ensemble(members, { members: [4, 0], weights: [3, 1] });
  assert.deepEqual(chosen.members.map((s) => s.index), [5, 1]);
  assert.deepEqual(Array.from(chosen.weights), [0.75, 0.25]);
  const a = forward(spec, members[4].params, x, 40);
  const b = forward(spec, members[0].params, x, 40);
  close(await chosen.predictProba(x), a.map((v, k) => 0.75 * v + 0.25 * b[k]));
  // A zero weight removes a member.
  close(await ensemble(members, { last: 2, weights: [0, 2] }).predictProba(x), a);
  assert.equal(lastTwo.stackedParams.length, 2 * members[0].params.length);
  assert.deepEqual(lastTwo.stackedParams.subarray(members[0].params.length), members[4].params);
});

Deno.test("hard vote counts argmax votes, gives vote fractions and breaks ties to the lowest class", async () => {
  const voters = [
    constantVoter(2, 4, 1),
    constantVoter(1, 4, 2),
    constantVoter(2, 4, 3),
    constantVoter(1, 4, 4),
  ];
  const one = new Float32Array([0.3]);
  const hard = ensemble(voters, { vote: "hard" });
  assert.deepEqual(Array.from(await hard.predictProba(one)), [0, 0.5, 0.5, 0]);
  assert.deepEqual(Array.from(await hard.predict(one)), [1]); // tie between 1 and 2
  const weighted = ensemble(voters, { vote: "hard", weights: [1, 1, 2, 0] });
  close(await weighted.predictProba(one), [0, 0.25, 0.75, 0]);
  assert.deepEqual(Array.from(await weighted.predict(one)), [2]);
  assert.deepEqual(Array.from(await ensemble(voters, { vote: "hard", last: 3 }).predict(one)), [1]);
});

Deno.test("hard vote on real members equals a brute-force majority", async () => {
  const hard = ensemble(members, { vote: "hard" });
  const votes = members.map((s) => forward(spec, s.params, x, 40));
  const predicted = await hard.predict(x);
  const fractions = await hard.predictProba(x);
  for (let r = 0; r < 40; r++) {
    const count = [0, 0, 0];
    for (const p of votes) {
      const row = Array.from(p.subarray(3 * r, 3 * r + 3));
      count[row.indexOf(Math.max(...row))]++;
    }
    assert.equal(predicted[r], count.indexOf(Math.max(...count)));
    close(fractions.subarray(3 * r, 3 * r + 3), count.map((c) => c / 5));
  }
});

Deno.test("a linear head averages outputs and refuses classes and hard votes", async () => {
  const reg = mlp({ layers: [2, 6, 2], activation: "tanh", head: "linear" });
  const regs = snapshots(reg, 3, 5);
  const model = ensemble(regs);
  const outs = regs.map((s) => forward(reg, s.params, x, 40));
  close(await model.predictProba(x), outs[0].map((v, k) => (v + outs[1][k] + outs[2][k]) / 3));
  await assert.rejects(model.predict(x), /Cannot predict classes: spec\.head must be "softmax"/);
  assert.throws(() => ensemble(regs, { vote: "hard" }), /vote must be "soft" for a "linear" head/);
  await assert.rejects(ensembleSizeCurve(regs, { x, y: new Int32Array(40) }), /spec\.head/);
});

Deno.test("soft vote does not depend on member order (property)", async () => {
  const small = snapshots(mlp({ layers: [3, 5, 4], activation: "sigmoid" }), 6, 3);
  const xs = inputs(11, 3);
  await fc.assert(
    fc.asyncProperty(
      fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 6, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 6, maxLength: 6 }),
      async (order, weights) => {
        const reference = await ensemble(small, { weights }).predictProba(xs);
        const permuted = await ensemble(order.map((i) => small[i]), {
          weights: order.map((i) => weights[i]),
        }).predictProba(xs);
        assert.deepEqual(permuted, reference);
        const byIndex = await ensemble(small, { members: order }).predictProba(xs);
        assert.deepEqual(byIndex, await ensemble(small).predictProba(xs));
      },
    ),
    { seed: 2017, numRuns: 100 },
  );
});

Deno.test("ensembleSizeCurve backward and forward agree with ensembles built by hand", async () => {
  const y = Int32Array.from({ length: 40 }, (_, r) => (r * 5) % 3);
  const backward = await ensembleSizeCurve(members, { x, y });
  const forwardCurve = await ensembleSizeCurve(members, { x, y, direction: "forward" });
  assert.deepEqual(backward.map((p) => p.members), [1, 2, 3, 4, 5]);
  assert.deepEqual(backward.map((p) => p.singleIndex), [5, 4, 3, 2, 1]);
  assert.deepEqual(forwardCurve.map((p) => p.singleIndex), [1, 2, 3, 4, 5]);
  for (let k = 1; k <= 5; k++) {
    const single = forward(spec, members[5 - k].params, x, 40);
    assert.equal(backward[k - 1].singleAccuracy, accuracy(single, y));
    const last = await ensemble(members, { last: k }).predictProba(x);
    assert.equal(backward[k - 1].ensembleAccuracy, accuracy(last, y));
    assert.ok(Math.abs(backward[k - 1].ensembleLogLoss - logLoss(last, y)) < 1e-5);
    const first = await ensemble(members, { members: [...Array(k).keys()] }).predictProba(x);
    assert.equal(forwardCurve[k - 1].ensembleAccuracy, accuracy(first, y));
    assert.equal(
      forwardCurve[k - 1].singleAccuracy,
      accuracy(forward(spec, members[k - 1].params, x, 40), y),
    );
  }
  // Both directions end with the same full ensemble.
  assert.equal(backward[4].ensembleAccuracy, forwardCurve[4].ensembleAccuracy);
  const hard = await ensembleSizeCurve(members, { x, y, vote: "hard" });
  assert.equal(
    hard[2].ensembleAccuracy,
    accuracy(await ensemble(members, { last: 3, vote: "hard" }).predict(x), y),
  );
});

Deno.test("bad ensembles and inputs are rejected with every problem named", async () => {
  const other = snapshots(mlp({ layers: [2, 4, 3] }), 1)[0];
  assert.throws(
    () => ensemble([...members, other], { vote: "mean" as never, last: 9, weights: [1] }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), [
        "vote",
        "snapshots[5].spec",
        "last",
        "weights",
      ]);
      assert.match(
        e.message,
        /^Cannot build ensemble: vote must be one of "soft", "hard": got "mean"/,
      );
      return true;
    },
  );
  assert.throws(() => ensemble([]), /snapshots must be a non-empty list/);
  assert.throws(
    () => ensemble(members, { last: 1, members: [0] }),
    /members must not be given together/,
  );
  assert.throws(() => ensemble(members, { members: [0, 0] }), /members must be distinct/);
  assert.throws(() => ensemble(members, { weights: [0, 0, 0, 0, 0] }), /not all zero/);
  const model = ensemble(members);
  await assert.rejects(
    model.predictProba(new Float32Array(5)),
    /Cannot predict: x must hold whole rows of inDim = 2 values/,
  );
  await assert.rejects(model.predictProba(x, 3), /x must hold n x inDim = 3 x 2 values/);
  // The CPU's synchronous twins throw where the asynchronous methods reject.
  assert.throws(() => model.predictProbaSync(x, 3), /x must hold n x inDim = 3 x 2 values/);
  assert.throws(() => model.predictSync(new Float32Array(3)), /not a multiple of 2/);
  await assert.rejects(model.predict(new Int8Array(4) as never), /x must be \[n, inDim\] rows/);
  await assert.rejects(
    ensembleSizeCurve(members, { x, y: [0, 1], direction: "sideways" as never }),
    /Cannot compute ensemble-size curve: direction must be one of.*x must hold n x inDim = 2 x 2/,
  );
});

Deno.test("ensemble: non-finite inputs, ragged rows and misspelt options are rejected clearly", async () => {
  const spec = mlp({ layers: [2, 4, 3] });
  const snapshots = [1, 2].map((index) => ({
    index,
    epoch: index,
    step: index,
    lr: 0,
    spec,
    params: initParams(spec, { seed: index }),
  }));
  const predictor = ensemble(snapshots);
  await assert.rejects(
    predictor.predictProba(new Float32Array([0, 1, NaN, 2])),
    /NaN or infinite, the first at row 1, column 0/,
  );
  await assert.rejects(predictor.predictProba(new Float32Array(5)), /not a multiple of 2/);
  assert.throws(() => ensemble(snapshots, { lastN: 1 } as never), /lastN is not an option/);
});

Deno.test("ensembleSizeCurve rejects labels outside the classes at its own door", async () => {
  const spec = mlp({ layers: [2, 4, 3] });
  const snapshots = [1, 2].map((index) => ({
    index,
    epoch: index,
    step: index,
    lr: 0,
    spec,
    params: initParams(spec, { seed: index }),
  }));
  await assert.rejects(
    ensembleSizeCurve(snapshots, { x: new Float32Array(4), y: [0, 3] }),
    /y\[1\] must be a class label in \[0, 3\): got 3/,
  );
});

Deno.test("only an ensemble without a backend is typed with the synchronous twins", async () => {
  const backend = createCpuBackend();
  try {
    const onBackend = ensemble(members, { backend, vote: "hard" });
    // @ts-expect-error: an ensemble on a backend has no synchronous twins (a device cannot block)
    assert.equal(onBackend.predictSync, undefined);
    assert.deepEqual(
      await onBackend.predict(x),
      ensemble(members, { vote: "hard" }).predictSync(x),
    );
    assert.throws(
      () => ensemble(members, { backend: { kind: "cpu" } as never }),
      /Cannot build ensemble: backend must be a Backend/,
    );
  } finally {
    backend.dispose();
  }
});

Deno.test("regressionSizeCurve agrees with ensembles built by hand and refuses classifiers", async () => {
  const reg = mlp({ layers: [2, 6, 2], activation: "tanh", head: "linear" });
  const regs = snapshots(reg, 4, 9);
  const targets = Float32Array.from({ length: 80 }, (_, k) => Math.sin(k)); // [40, 2]
  const backward = await regressionSizeCurve(regs, { x, y: targets });
  const forwardCurve = await regressionSizeCurve(regs, { x, y: targets, direction: "forward" });
  assert.deepEqual(backward.map((p) => p.singleIndex), [4, 3, 2, 1]);
  assert.deepEqual(forwardCurve.map((p) => p.singleIndex), [1, 2, 3, 4]);
  for (let k = 1; k <= 4; k++) {
    const last = await ensemble(regs, { last: k }).predictProba(x);
    assert.ok(Math.abs(backward[k - 1].ensembleMse - meanSquaredErrorMetric(last, targets)) < 1e-6);
    const single = forward(reg, regs[4 - k].params, x, 40);
    assert.ok(Math.abs(backward[k - 1].singleMse - meanSquaredErrorMetric(single, targets)) < 1e-6);
  }
  assert.ok(Math.abs(backward[3].ensembleMse - forwardCurve[3].ensembleMse) < 1e-12);
  await assert.rejects(
    regressionSizeCurve(members, { x, y: targets }),
    /Cannot compute regression size curve: spec\.head must be "linear"/,
  );
  await assert.rejects(
    regressionSizeCurve(regs, { x, y: new Float32Array(3) }),
    /y must be a Float32Array or Float64Array of finite \[n, 2\] targets/,
  );
});

Deno.test("ensemble: predict takes what the data helpers return (float64 or plain numbers)", async () => {
  const spec = mlp({ layers: [2, 5, 3] });
  const snapshots = [1, 2].map((index) => ({
    index,
    epoch: index,
    step: index,
    lr: 0,
    spec,
    params: initParams(spec, { seed: index }),
  }));
  const model = ensemble(snapshots);
  const x64 = new Float64Array([0.5, -1, 2, 0.25]);
  const want = model.predictProbaSync(Float32Array.from(x64));
  assert.deepEqual(model.predictProbaSync(x64), want);
  assert.deepEqual(await model.predictProba([0.5, -1, 2, 0.25]), want);
  assert.deepEqual(await model.predict(x64), model.predictSync(Float32Array.from(x64)));
  assert.throws(
    () => model.predictProbaSync(["a", "b"] as never),
    /x must be \[n, inDim\] rows: a Float32Array, a Float64Array or an array of numbers/,
  );
  assert.throws(() => model.predictProbaSync(new Float64Array([1e300, 0])), /finite/);
});
