/**
 * The optimizers: validation, and the reference update against the formulas written out in float64
 * here (PyTorch's SGD, Adam and AdamW; Keras' SGD), plus properties that tie the conventions together.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertClose } from "./_backend_cases.ts";
import {
  adam,
  adamw,
  ConfigError,
  type Optimizer,
  optimizerStateSize,
  randomState,
  sgd,
  validateOptimizer,
} from "../mod.ts";
import { applyUpdate } from "../lib/optimizers/mod.ts";
import { ruleOf } from "../lib/optimizers/mod.ts";

Deno.test("optimizers reject every bad option at once", () => {
  assert.throws(
    () => sgd({ momentum: -0.1, nesterov: true, convention: "tf" as "keras", weightDecay: NaN }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), ["momentum", "convention", "weightDecay"]);
      assert.match(
        e.message,
        /^Cannot build sgd: momentum must be a number in \[0, 1\): got -0.1; /,
      );
      return true;
    },
  );
  assert.throws(() => sgd({ nesterov: true }), /nesterov needs a positive momentum/);
  assert.throws(
    () => adamw({ beta1: 1, beta2: -1, epsilon: -1, weightDecay: Infinity }),
    (e: unknown) =>
      e instanceof ConfigError && /^Cannot build adamw: /.test(e.message) &&
      e.issues.map((i) => i.field).join() === "beta1,beta2,epsilon,weightDecay",
  );
  assert.deepEqual(adamw(), {
    kind: "adam",
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
    decoupled: true,
  });
  assert.equal(adam().weightDecay, 0);
});

Deno.test("validateOptimizer never throws and accepts what the constructors build", () => {
  for (const o of [sgd(), sgd({ momentum: 0.9, nesterov: true }), adam(), adamw()]) {
    assert.deepEqual(validateOptimizer(o), { _tag: "Right", right: o });
  }
  fc.assert(
    fc.property(fc.anything(), (value) => {
      const result = validateOptimizer(value as Optimizer);
      assert.ok(result._tag === "Left" || result._tag === "Right");
    }),
    { seed: 5, numRuns: 300 },
  );
  const bad = validateOptimizer({ kind: "rmsprop" } as never);
  assert.equal(
    bad._tag === "Left" && bad.left[0].message,
    "must be built with sgd(), adam() or adamw()",
  );
});

Deno.test("optimizerStateSize follows the documented layout", () => {
  assert.equal(optimizerStateSize(sgd(), 7), 0);
  assert.equal(optimizerStateSize(sgd({ momentum: 0.5 }), 7), 7);
  assert.equal(optimizerStateSize(adamw(), 7), 15);
});

/** The update rules written out from PyTorch's and Keras' documentation, in float64. */
function reference(o: Optimizer, w: Float64Array, g0: Float64Array, s: Float64Array, lr: number) {
  const P = w.length;
  if (o.kind === "sgd") {
    for (let k = 0; k < P; k++) {
      const g = g0[k] + o.weightDecay * w[k];
      if (o.momentum === 0) w[k] -= lr * g;
      else if (o.convention === "pytorch") {
        s[k] = o.momentum * s[k] + g; // torch.optim.SGD: buf = m * buf + g (dampening 0)
        w[k] -= lr * (o.nesterov ? g + o.momentum * s[k] : s[k]);
      } else {
        s[k] = o.momentum * s[k] - lr * g; // tf.keras SGD: v = m * v - lr * g
        w[k] += o.nesterov ? o.momentum * s[k] - lr * g : s[k];
      }
    }
    return;
  }
  const t = ++s[2 * P];
  for (let k = 0; k < P; k++) {
    if (o.decoupled) w[k] *= 1 - lr * o.weightDecay; // torch.optim.AdamW
    const g = g0[k] + (o.decoupled ? 0 : o.weightDecay * w[k]);
    s[k] = o.beta1 * s[k] + (1 - o.beta1) * g;
    s[P + k] = o.beta2 * s[P + k] + (1 - o.beta2) * g * g;
    const mHat = s[k] / (1 - o.beta1 ** t);
    const vHat = s[P + k] / (1 - o.beta2 ** t);
    w[k] -= lr * mHat / (Math.sqrt(vHat) + o.epsilon);
  }
}

Deno.test("applyUpdate follows the written-out rules over steps with a changing lr", () => {
  const optimizers: Optimizer[] = [
    sgd(),
    sgd({ weightDecay: 0.1 }),
    sgd({ momentum: 0.9, convention: "pytorch" }),
    sgd({ momentum: 0.8, nesterov: true, convention: "pytorch", weightDecay: 0.01 }),
    sgd({ momentum: 0.9, convention: "keras" }),
    sgd({ momentum: 0.7, nesterov: true, convention: "keras", weightDecay: 0.02 }),
    adam(),
    adam({ beta1: 0.5, beta2: 0.9, epsilon: 1e-3, weightDecay: 0.05 }),
    adamw({ weightDecay: 0.1 }),
  ];
  for (const o of optimizers) {
    const random = randomState(1);
    const P = 13;
    const replicas = 2;
    const S = optimizerStateSize(o, P);
    const params = new Float32Array(replicas * P).map(() => random.normal(0, 1));
    const state = new Float32Array(replicas * S);
    const other = params.slice(0, P);
    const w = Float64Array.from(params.subarray(P));
    const s = new Float64Array(S);
    for (let step = 0; step < 12; step++) {
      const grads = new Float32Array(P).map(() => random.normal(0, 0.5));
      const lr = 0.05 * (1 + Math.cos(step)); // changes every step, as cyclic schedules do
      applyUpdate(o, params, grads, state, Math.fround(lr), 1);
      reference(o, w, Float64Array.from(grads), s, Math.fround(lr));
    }
    const label = JSON.stringify(o);
    assertClose(params.subarray(P), w, { rel: 1e-5, abs: 1e-6, label });
    assertClose(state.subarray(S), s, { rel: 1e-5, abs: 1e-6, label: `${label} state` });
    assert.deepEqual(params.subarray(0, P), other, "replica 0 untouched");
    assert.ok(state.subarray(0, S).every((v) => v === 0), "replica 0 state untouched");
  }
});

Deno.test("the two SGD conventions agree under a constant lr and differ under a changing one", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.3, max: 0.95, noNaN: true }),
      fc.boolean(),
      fc.double({ min: 0.01, max: 0.5, noNaN: true }),
      fc.integer({ min: 0, max: 1000 }),
      (momentum, nesterov, lr, seed) => {
        const random = randomState(seed);
        const init = new Float32Array(8).map(() => random.normal(0, 1));
        const grads = Array.from(
          { length: 10 },
          () => new Float32Array(8).map(() => random.normal(0, 1)),
        );
        const run = (convention: "keras" | "pytorch", lrOf: (s: number) => number) => {
          const o = sgd({ momentum, nesterov, convention });
          const params = init.slice();
          const state = new Float32Array(8);
          grads.forEach((g, s) => applyUpdate(o, params, g, state, lrOf(s)));
          return params;
        };
        const constant = () => lr;
        assertClose(run("keras", constant), run("pytorch", constant), {
          rel: 1e-4,
          abs: 1e-5,
          label: "constant lr",
        });
        const changing = (s: number) => lr * (s + 1);
        const a = run("keras", changing);
        const b = run("pytorch", changing);
        // The gap is of order momentum * lr * |g| (>= 3e-3 here), far above float32 rounding.
        assert.ok(a.some((v, k) => Math.abs(v - b[k]) > 1e-5 * (1 + Math.abs(b[k]))));
      },
    ),
    { seed: 42, numRuns: 100 },
  );
});

Deno.test("Adam's first step moves every weight by about lr against its gradient's sign", () => {
  const params = new Float32Array([1, -2, 3]);
  const state = new Float32Array(optimizerStateSize(adam(), 3));
  applyUpdate(adam(), params, new Float32Array([0.3, -5, 1e-3]), state, 0.01);
  assertClose(params, [0.99, -1.99, 2.99], { rel: 1e-6, abs: 1e-6, label: "first Adam step" });
  assert.equal(state[6], 1); // t
});

Deno.test("optimizers: options that would be ignored or contradict the constructor are refused", () => {
  assert.throws(
    () => sgd({ lr: 0.1 } as never),
    (e: unknown) =>
      e instanceof ConfigError && e.issues[0].field === "lr" &&
      /the learning rate of every step comes from the schedule/.test(e.message) &&
      !/kind/.test(e.message),
  );
  assert.throws(
    () => sgd({ kind: "adam" } as never),
    /Cannot build sgd: kind is not an option: use "momentum"/,
  );
  assert.throws(
    () => adam({ decoupled: true } as never),
    /decoupled is not an option: call adamw\(\)/,
  );
  assert.throws(() => adamw({ kind: "sgd" } as never), /Cannot build adamw: kind is not an option/);
  assert.throws(() => sgd(null as never), /options must be an object of options/);
  assert.throws(() => adam("fast" as never), /options must be an object of options/);
  // Re-validating a built description accepts its own tag, and only its own.
  assert.equal(validateOptimizer({ ...adamw(), decoupled: "yes" } as never)._tag, "Left");
  assert.equal(validateOptimizer(null as never)._tag, "Left");
});

Deno.test("optimizers: every rule's fast update has the same bits as its reference", () => {
  const P = 37;
  const random = randomState(8);
  for (
    const optimizer of [
      sgd(),
      sgd({ momentum: 0.9 }),
      sgd({ momentum: 0.9, weightDecay: 0.01, convention: "pytorch" }),
      sgd({ momentum: 0.5, nesterov: true }),
      adam(),
      adamw(),
    ]
  ) {
    const rule = ruleOf(optimizer);
    const fast = rule.fastUpdate ?? rule.update;
    const S = rule.stateSize(optimizer, P);
    const params = new Float32Array(2 * P).map(() => random.normal(0, 1));
    const state = new Float32Array(2 * S).map(() => random.normal(0, 0.1));
    if (optimizer.kind === "adam") state[S + 2 * P] = 3; // the second replica's step count
    const grads = new Float32Array(P).map(() => random.normal(0, 1));
    const [p1, s1, p2, s2] = [params.slice(), state.slice(), params.slice(), state.slice()];
    for (const lr of [0.1, 0.03]) {
      rule.update(optimizer, p1, grads, s1, lr, 1);
      fast(optimizer, p2, grads, s2, lr, 1);
    }
    assert.deepEqual([...p2], [...p1], JSON.stringify(optimizer));
    assert.deepEqual([...s2], [...s1], JSON.stringify(optimizer));
    assert.deepEqual([...p1.subarray(0, P)], [...params.subarray(0, P)], "replica 0 untouched");
  }
});
