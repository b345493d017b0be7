/**
 * The model (spec, layout, init, forward), the activations, the mini-batches and the validation of
 * training data.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Activation,
  ACTIVATIONS,
  ConfigError,
  dense,
  denseWidths,
  dropout,
  forward,
  initParams,
  inputDim,
  isModelSpec,
  layerViews,
  linear,
  mlp,
  type MlpSpec,
  outputDim,
  paramCount,
  paramLayout,
  randomState,
  relu,
  sameSpec,
  sequential,
  sgd,
  sigmoid,
  summary,
  tanh,
  validateMlp,
  validateSequential,
} from "../mod.ts";
import { epochBatches, epochsBatches, stepsPerEpoch } from "../lib/batches.ts";
import { activate, activationDerivative } from "../lib/ops/loss.ts";
import { validateInputs, validateTrainingData } from "../lib/training_data.ts";

Deno.test("mlp rejects every bad field at once", () => {
  assert.throws(
    () => mlp({ layers: [2, -1, 3], activation: "gelu" as Activation, head: "svm" as "linear" }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["layers", "activation", "head"]);
      assert.equal(
        e.message,
        "Cannot build MLP: layers must be positive integers: got [2,-1,3]; activation must be one of " +
          '"relu", "tanh", "sigmoid", "linear": got "gelu"; head must be one of "softmax", "linear": got "svm"',
      );
      return true;
    },
  );
  assert.throws(() => mlp({ layers: [4] }), /layers must list at least two layer widths/);
  assert.throws(() => mlp({ layers: [4, 1] }), /at least two classes for a softmax head/);
  assert.equal(mlp({ layers: [4, 1], head: "linear" }).head, "linear");
});

Deno.test("validateMlp never throws, whatever it is given", () => {
  fc.assert(
    fc.property(fc.anything(), fc.anything(), fc.anything(), (layers, activation, head) => {
      const result = validateMlp({ layers, activation, head } as never);
      assert.ok(result._tag === "Left" || result._tag === "Right");
    }),
    { seed: 7, numRuns: 300 },
  );
});

Deno.test("paramCount, outputDim and layerViews describe one contiguous layout", () => {
  const spec = mlp({ layers: [3, 5, 4, 2] });
  const P = paramCount(spec);
  assert.equal(P, 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2);
  assert.equal(outputDim(spec), 2);
  const params = new Float32Array(2 * P).map((_, k) => k);
  for (const replica of [0, 1]) {
    const views = layerViews(spec, params, replica);
    let offset = replica * P;
    for (const [l, view] of views.entries()) {
      assert.equal(view.inDim, [3, 5, 4, 2][l]);
      assert.equal(view.outDim, [3, 5, 4, 2][l + 1]);
      assert.equal(view.weightOffset, offset);
      assert.equal(view.biasOffset, offset + view.inDim * view.outDim);
      assert.equal(view.weights[0], offset); // shares memory with params
      assert.equal(view.weights.length, view.inDim * view.outDim);
      assert.equal(view.bias.length, view.outDim);
      offset = view.biasOffset + view.outDim;
    }
    assert.equal(offset, (replica + 1) * P);
  }
  assert.throws(() => layerViews(spec, params, 2), RangeError);
});

Deno.test("initParams draws Glorot (or He) uniform weights in the documented order, zero biases", () => {
  const spec = mlp({ layers: [2, 3, 2] });
  const params = initParams(spec, { seed: 5, replicas: 2 });
  // The documented order, written out: one stream, replica by replica, layer by layer, row-major.
  const random = randomState(5);
  const expected: number[] = [];
  for (let r = 0; r < 2; r++) {
    for (const [inDim, outDim] of [[2, 3], [3, 2]]) {
      const limit = Math.sqrt(6 / (inDim + outDim));
      for (let k = 0; k < inDim * outDim; k++) expected.push(random.uniform(-limit, limit));
      for (let k = 0; k < outDim; k++) expected.push(0);
    }
  }
  assert.deepEqual([...params], expected.map(Math.fround));
  assert.deepEqual(initParams(spec, { seed: 5 }), params.slice(0, paramCount(spec)));
  assert.notDeepEqual(initParams(spec, { seed: 6 }), initParams(spec, { seed: 5 }));

  // The distribution: uniform on [-limit, limit) has variance limit^2 / 3.
  for (const init of ["glorot", "he"] as const) {
    const big = mlp({ layers: [300, 200] });
    const w = layerViews(big, initParams(big, { seed: 1, init }))[0].weights;
    const limit = init === "he" ? Math.sqrt(6 / 300) : Math.sqrt(6 / 500);
    let mean = 0;
    let sq = 0;
    let max = 0;
    for (const v of w) {
      mean += v / w.length;
      sq += v * v / w.length;
      max = Math.max(max, Math.abs(v));
    }
    assert.ok(max <= limit && max > 0.99 * limit, `${init}: max ${max} against limit ${limit}`);
    assert.ok(Math.abs(mean) < 0.01 * limit, `${init}: mean ${mean}`);
    assert.ok(Math.abs(sq / (limit * limit / 3) - 1) < 0.02, `${init}: variance ${sq}`);
  }
  assert.throws(
    () => initParams(spec, { seed: -1, init: "xavier" as "he", replicas: 0 }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.map((i) => i.field).join() === "seed,init,replicas",
  );
});

Deno.test("forward computes a hand-worked example for both heads", () => {
  // layers [2, 2, 2]: W1 = [[1, -1], [2, 0.5]], b1 = [0.5, -3], W2 = [[1, 2], [-1, 1]], b2 = [0, 1]
  const params = new Float32Array([1, -1, 2, 0.5, 0.5, -3, 1, 2, -1, 1, 0, 1]);
  const x = new Float32Array([1, 2, -1, 0]); // [2, 2]
  const cases: Record<Activation, (z: number) => number> = {
    relu: (z) => Math.max(z, 0),
    tanh: Math.tanh,
    sigmoid: (z) => 1 / (1 + Math.exp(-z)),
    linear: (z) => z,
  };
  for (const [activation, f] of Object.entries(cases) as [Activation, (z: number) => number][]) {
    const hidden = [[1 + 4 + 0.5, -1 + 1 - 3], [-1 + 0.5, 1 - 3]].map((row) => row.map(f));
    const logits = hidden.map(([a, b]) => [a - b, 2 * a + b + 1]);
    const linear = forward(mlp({ layers: [2, 2, 2], activation, head: "linear" }), params, x, 2);
    const flat = logits.flat();
    for (let k = 0; k < 4; k++) assert.ok(Math.abs(linear[k] - flat[k]) < 1e-5, activation);
    const probs = forward(mlp({ layers: [2, 2, 2], activation }), params, x, 2);
    for (let b = 0; b < 2; b++) {
      const [u, v] = logits[b];
      const p0 = 1 / (1 + Math.exp(v - u));
      assert.ok(Math.abs(probs[2 * b] - p0) < 1e-6 && Math.abs(probs[2 * b + 1] - (1 - p0)) < 1e-6);
    }
  }
});

Deno.test("activation derivatives match finite differences; relu'(0) = 0 and relu keeps NaN", () => {
  for (const activation of ["relu", "tanh", "sigmoid", "linear"] as const) {
    for (const z of [-3, -0.7, -0.01, 0.02, 0.5, 2.5]) {
      const h = 1e-6;
      const numeric = (activate(activation, z + h) - activate(activation, z - h)) / (2 * h);
      const analytic = activationDerivative(activation, activate(activation, z));
      assert.ok(Math.abs(numeric - analytic) < 1e-6, `${activation}'(${z})`);
    }
  }
  assert.equal(activationDerivative("relu", activate("relu", 0)), 0);
  assert.ok(Number.isNaN(activate("relu", NaN)));
});

Deno.test("epochBatches cuts a seeded permutation into batches with a short last one", () => {
  assert.equal(stepsPerEpoch(100, 32), 4);
  assert.equal(stepsPerEpoch(1, 32), 1);
  assert.throws(() => stepsPerEpoch(0, 1.5), /n must be a positive integer: got 0; batchSize/);
  const random = randomState(0);
  const first = epochBatches(random, { n: 10, batchSize: 4 });
  const second = epochBatches(random, { n: 10, batchSize: 4 });
  // NumPy: r = np.random.RandomState(0); r.permutation(10); r.permutation(10)
  assert.deepEqual([...first.indices], [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
  assert.deepEqual([...second.indices], [3, 5, 1, 2, 9, 8, 0, 6, 7, 4]);
  assert.deepEqual([...first.offsets], [0, 4, 8, 10]);
  const sizes = epochBatches(randomState(1), { n: 100, batchSize: 32 }).offsets;
  assert.deepEqual([...sizes.slice(1)].map((o, s) => o - sizes[s]), [32, 32, 32, 4]);
  // Without shuffling the random state does not move, so a checkpoint stays valid.
  const still = randomState(9);
  const before = JSON.stringify(still.snapshot());
  const plain = epochsBatches(still, { n: 5, batchSize: 5, shuffle: false }, 2);
  assert.deepEqual([...plain.indices], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  assert.deepEqual([...plain.offsets], [0, 5, 10]);
  assert.equal(JSON.stringify(still.snapshot()), before);
  assert.throws(
    () => epochsBatches(still, { n: 5, batchSize: 0, shuffle: "yes" as never }, 0),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.map((i) => i.field).join() === "batchSize,shuffle,epochs",
  );
});

Deno.test("epochsBatches: every epoch is a permutation cut at batchSize (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      (n, batchSize, epochs, seed) => {
        const { indices, offsets } = epochsBatches(randomState(seed), { n, batchSize }, epochs);
        const steps = Math.ceil(n / batchSize);
        assert.equal(offsets.length, steps * epochs + 1);
        for (let e = 0; e < epochs; e++) {
          const epoch = [...indices.slice(e * n, (e + 1) * n)].sort((a, b) => a - b);
          assert.deepEqual(epoch, [...Array(n).keys()]);
          for (let s = 0; s < steps; s++) {
            const size = offsets[e * steps + s + 1] - offsets[e * steps + s];
            assert.equal(size, s + 1 < steps ? batchSize : n - (steps - 1) * batchSize);
          }
        }
      },
    ),
    { seed: 11, numRuns: 150 },
  );
});

const SPEC: MlpSpec = mlp({ layers: [3, 4, 3] });

Deno.test("validateTrainingData reports every problem at once, naming rows and counts", () => {
  const x = new Float32Array(12);
  x[4] = NaN;
  x[11] = -Infinity;
  const result = validateTrainingData(SPEC, { x, y: new Int32Array([0, 3, 1, -2]), n: 4 });
  assert.equal(result._tag, "Left");
  if (result._tag !== "Left") return;
  assert.deepEqual(result.left.map((i) => i.field), ["x[1][1]", "y[1]"]);
  assert.match(result.left[0].message, /2 non-finite values in x/);
  assert.match(result.left[1].message, /integer class label in \[0, 3\) \(2 bad labels in y/);

  const wrong = validateTrainingData(SPEC, {
    x: new Float32Array(8),
    y: Float32Array.from([0, 1.5]) as never,
    n: 2,
  });
  assert.deepEqual(
    wrong._tag === "Left" && wrong.left.map((i) => [i.field, i.message.slice(0, 30)]),
    [["x", "must have 3 columns per row, t"], ["y[1]", "must be an integer class label"]],
  );
  const odd = validateInputs(SPEC, { x: new Float32Array(7), n: 2 });
  assert.match(odd._tag === "Left" ? odd.left[0].message : "", /n \* inDim = 2 \* 3 = 6/);
  const empty = validateTrainingData(SPEC, { x: new Float32Array(0), y: new Int32Array(0), n: 0 });
  assert.deepEqual(empty._tag === "Left" && empty.left.map((i) => i.field), ["n"]);
});

Deno.test("validateTrainingData converts plain arrays and checks regression targets", () => {
  const ok = validateTrainingData(SPEC, { x: [1, 2, 3] as never, y: [2] as never, n: 1 });
  assert.equal(ok._tag, "Right");
  if (ok._tag === "Right") {
    assert.ok(ok.right.x instanceof Float32Array);
    assert.ok(ok.right.y instanceof Int32Array);
  }
  const regression = mlp({ layers: [2, 2], head: "linear" });
  const bad = validateTrainingData(regression, {
    x: new Float32Array([1, 2, 3, 4]),
    y: new Float32Array([0, NaN, 1]),
    n: 2,
  });
  assert.deepEqual(bad._tag === "Left" && bad.left.map((i) => i.field), ["y", "y[0][1]"]);
  const good = validateTrainingData(regression, {
    x: new Float32Array([1, 2, 3, 4]),
    y: [0.5, -1, 2, 3] as never,
    n: 2,
  });
  assert.ok(good._tag === "Right" && good.right.y instanceof Float32Array);
});

Deno.test("validateTrainingData never throws, whatever it is given", () => {
  fc.assert(
    fc.property(fc.anything(), fc.anything(), fc.anything(), (x, y, n) => {
      for (const spec of [SPEC, mlp({ layers: [1, 1], head: "linear" })]) {
        const result = validateTrainingData(spec, { x, y, n } as never);
        assert.ok(result._tag === "Left" || result._tag === "Right");
      }
    }),
    { seed: 3, numRuns: 300 },
  );
});

Deno.test("mlp: init is part of the spec, and misspelt options are errors", () => {
  const he = mlp({ layers: [4, 8, 2], init: "he" });
  assert.deepEqual(initParams(he, { seed: 3 }), initParams(he, { seed: 3, init: "he" }));
  assert.notDeepEqual(initParams(he, { seed: 3 }), initParams(he, { seed: 3, init: "glorot" }));
  assert.throws(
    () => mlp({ layers: [2, 3], activaton: "tanh" } as never),
    /activaton is not an option/,
  );
  assert.throws(
    () => sgd({ lr: 0.1 } as never),
    /lr is not an optimizer option: the learning rate of every step comes from the schedule/,
  );
});

Deno.test("sequential: mlp is sugar for dense, activation, dense, ..., dense", () => {
  const spec = mlp({ layers: [3, 5, 4, 2], activation: "tanh", init: "he" });
  assert.deepEqual(spec, {
    inputs: 3,
    layers: [dense(5), tanh(), dense(4), tanh(), dense(2)],
    head: "softmax",
    init: "he",
  });
  assert.deepEqual(
    sequential({ inputs: 3, layers: [dense(5), tanh(), dense(4), tanh(), dense(2)], init: "he" }),
    spec,
  );
  assert.deepEqual(mlp({ layers: [2, 4, 1], activation: "linear", head: "linear" }).layers, [
    dense(4),
    linear(),
    dense(1),
  ]);
  assert.deepEqual(mlp({ layers: [2, 3] }).layers, [dense(3)]);
});

Deno.test("sequential: every bad field and every misplaced layer is reported at once", () => {
  assert.throws(
    () =>
      sequential({
        inputs: 0,
        layers: [
          relu(),
          dense(4),
          dropout(1),
          sigmoid(),
          dense(2.5),
          dense(3),
          { kind: "dense", units: 3, act: "relu" } as never,
          tanh(),
          tanh(),
          dropout(0.1),
          dropout(0.2),
          dense(3),
          dropout(0.5),
        ],
        head: "svm" as "linear",
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), [
        "inputs",
        "layers[0]", // must come after a dense layer
        "layers[2].rate",
        "layers[3]", // an activation after the dropout
        "layers[4].units",
        "layers[5]", // dense after dense
        "layers[6].act",
        "layers[6]", // dense after dense
        "layers[8]", // activation after activation
        "layers[10]", // dropout after dropout
        "layers[12]", // after the last dense layer
        "head",
      ]);
      assert.match(e.message, /^Cannot build model: inputs must be a positive integer: got 0; /);
      assert.match(e.message, /layers\[2\]\.rate must be a number in \[0, 1\): got 1/);
      assert.match(e.message, /layers\[12\] must not come after the last dense layer/);
      return true;
    },
  );
  assert.throws(
    () => sequential({ inputs: 2, layers: [dense(3), relu()] }),
    /layers\[1\] must not come after the last dense layer: the head gives the output function/,
  );
  assert.throws(() => sequential({ inputs: 2, layers: [] }), /layers must be a non-empty list/);
  assert.throws(
    () => sequential({ inputs: 2, layers: [dense(1)] }),
    /layers\[0\]\.units must be at least two classes for a softmax head/,
  );
  assert.throws(
    () => sequential({ inputs: 2, layers: [{ kind: "gelu" } as never, dense(2)] }),
    /layers\[0\]\.kind must be one of "dense", "relu", "tanh", "sigmoid", "linear", "dropout"/,
  );
  assert.equal(sequential({ inputs: 2, layers: [dense(1)], head: "linear" }).head, "linear");
  assert.ok(sequential({ inputs: 2, layers: [dense(4), dropout(0), dense(2)] }));
});

Deno.test("validateSequential and isModelSpec never throw, whatever they are given", () => {
  const layer = fc.oneof(
    fc.anything(),
    fc.record({ kind: fc.constantFrom("dense", "relu", "dropout", "tanh"), units: fc.anything() }),
    fc.record({ kind: fc.constant("dropout"), rate: fc.anything() }),
  );
  fc.assert(
    fc.property(fc.anything(), fc.array(layer), fc.anything(), (inputs, layers, head) => {
      const options = { inputs, layers, head } as never;
      const result = validateSequential(options);
      assert.ok(result._tag === "Left" || result._tag === "Right");
      assert.equal(isModelSpec(options), result._tag === "Right");
    }),
    { seed: 7, numRuns: 300 },
  );
  assert.equal(validateSequential(null as never)._tag, "Left");
});

Deno.test("paramLayout: one layout per spec, with each dense layer's activation and dropout", () => {
  const spec = sequential({
    inputs: 3,
    layers: [dense(5), relu(), dropout(0.25), dense(4), sigmoid(), dense(2)],
    head: "linear",
  });
  const layout = paramLayout(spec);
  assert.equal(paramLayout(spec), layout, "memoised per spec object");
  assert.deepEqual(layout, {
    paramCount: 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2,
    inDim: 3,
    outDim: 2,
    layers: [
      {
        index: 0,
        inDim: 3,
        outDim: 5,
        weightOffset: 0,
        biasOffset: 15,
        activation: "relu",
        dropout: 0.25,
      },
      {
        index: 1,
        inDim: 5,
        outDim: 4,
        weightOffset: 20,
        biasOffset: 40,
        activation: "sigmoid",
        dropout: 0,
      },
      {
        index: 2,
        inDim: 4,
        outDim: 2,
        weightOffset: 44,
        biasOffset: 52,
        activation: "linear",
        dropout: 0,
      },
    ],
  });
  assert.equal(paramCount(spec), layout.paramCount);
  assert.equal(inputDim(spec), 3);
  assert.equal(outputDim(spec), 2);
  assert.deepEqual(denseWidths(spec), [3, 5, 4, 2]);
  const views = layerViews(spec, new Float32Array(layout.paramCount));
  assert.deepEqual(views.map((v) => [v.weightOffset, v.biasOffset]), [[0, 15], [20, 40], [44, 52]]);
  // sameSpec compares layers, rates and the head; init aside.
  assert.ok(sameSpec(spec, sequential({ ...spec, init: "he" })));
  assert.ok(!sameSpec(spec, sequential({ ...spec, layers: spec.layers.with(2, dropout(0.5)) })));
  assert.ok(!sameSpec(spec, sequential({ ...spec, layers: spec.layers.with(1, tanh()) })));
});

Deno.test("forward applies each dense layer's own activation, as the ACTIVATIONS table says", () => {
  const spec = sequential({
    inputs: 1,
    layers: [dense(1), sigmoid(), dense(1), tanh(), dense(1)],
    head: "linear",
  });
  const params = new Float32Array([2, 0.5, 3, -1, 4, 0.25]); // w0 b0 w1 b1 w2 b2
  const x = 0.7;
  const h1 = ACTIVATIONS.sigmoid.f(Math.fround(2 * x + 0.5));
  const h2 = ACTIVATIONS.tanh.f(Math.fround(3 * Math.fround(h1) - 1));
  const out = forward(spec, params, new Float32Array([x]), 1);
  assert.ok(Math.abs(out[0] - (4 * h2 + 0.25)) < 1e-6, `${out[0]}`);
});

Deno.test("summary: layers, output widths, parameters and multiply-adds add up like Keras' summary", () => {
  const spec = sequential({
    inputs: 784,
    layers: [dense(256), relu(), dropout(0.2), dense(64), tanh(), dense(10)],
  });
  const s = summary(spec);
  assert.deepEqual(s.layers.map((l) => [l.name, l.kind, l.outputWidth, l.params, l.multiplyAdds]), [
    ["dense", "dense", 256, 784 * 256 + 256, 784 * 256],
    ["relu", "relu", 256, 0, 0],
    ["dropout", "dropout", 256, 0, 0],
    ["dense_1", "dense", 64, 256 * 64 + 64, 256 * 64],
    ["tanh", "tanh", 64, 0, 0],
    ["dense_2", "dense", 10, 64 * 10 + 10, 64 * 10],
  ]);
  assert.equal(s.totalParams, paramCount(spec));
  assert.equal(s.paramBytes, 4 * paramCount(spec));
  assert.equal(s.multiplyAdds, 784 * 256 + 256 * 64 + 64 * 10);
  assert.match(s.text, /^Model: 784 inputs, softmax head/);
  assert.match(s.text, /dense_2 +\[batch, 10\] +650 +640/);
  assert.throws(() => summary({ inputs: 2, layers: [], head: "softmax" } as never), ConfigError);
  assert.throws(() => summary(null as never), /Cannot summarise model/);
});
