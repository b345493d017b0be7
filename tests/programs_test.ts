/**
 * The WebGPU programs as data, with no GPU: the KernelCall lists of training (with and without
 * augment) and prediction per model and optimizer, checked against the generated binding table
 * (arity and access), each shader's `override` declarations (every constant without a default
 * given, none unknown), the roles a session or a prediction holds, and the loop charges of the
 * llvmpipe budget.
 */
import assert from "node:assert/strict";
import { type KernelCall, roleKey } from "../lib/ops/kernel_call.ts";
import {
  optimizerCalls,
  predictCalls,
  resetCalls,
  trainingCalls,
} from "../lib/backend/webgpu/_programs.ts";
import { perKernelLoopCounts } from "../lib/backend/webgpu/_loop_budget.ts";
import { SHADER_BINDINGS, type ShaderName, SHADERS } from "../lib/backend/webgpu/_shaders.ts";
import {
  adam,
  adamw,
  dense,
  dropout,
  mlp,
  type MlpSpec,
  paramLayout,
  relu,
  sequential,
  sgd,
  shift,
  tanh,
} from "../mod.ts";
import type { Optimizer } from "../lib/optimizers/mod.ts";
import { dropoutSeedKey } from "../lib/ops/dropout.ts";
import { SHIFT_LAYER } from "../lib/ops/shift.ts";

/** The `override` declarations of a shader: name and whether it has a default. */
function overrides(shader: ShaderName): Map<string, boolean> {
  const found = new Map<string, boolean>();
  const code = SHADERS[shader].replace(/\/\/[^\n]*/g, "");
  for (const m of code.matchAll(/override\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*\w+\s*(=)?/g)) {
    found.set(m[1], m[2] === "=");
  }
  return found;
}

/** Checks one call against its shader's declarations and the roles its owner holds. */
function checkCall(call: KernelCall, roles: ReadonlySet<string>, label: string): void {
  const bindings = SHADER_BINDINGS[call.shader];
  assert.equal(call.bindings.length, bindings.length, `${label} ${call.label}: binding count`);
  const declared = overrides(call.shader);
  for (const name of Object.keys(call.constants)) {
    assert.ok(declared.has(name), `${label} ${call.label}: ${name} is not an override`);
    assert.ok(Number.isFinite(call.constants[name]), `${label} ${call.label}: ${name} is finite`);
  }
  for (const [name, hasDefault] of declared) {
    if (!hasDefault) {
      assert.ok(name in call.constants, `${label} ${call.label}: ${name} has no value`);
    }
  }
  const writes = new Set<string>();
  call.bindings.forEach((role, k) => {
    const key = roleKey(role);
    assert.ok(roles.has(key), `${label} ${call.label}: binds ${key}, which its owner lacks`);
    if (bindings[k].access === "write") writes.add(key);
  });
  // A kernel never reads and writes one buffer through two bindings (WebGPU forbids it).
  assert.equal(new Set(call.bindings.map(roleKey)).size, call.bindings.length, call.label);
  for (const rows of [1, 32, 1000]) {
    const grid = call.grid(rows);
    assert.ok(
      grid.every((g) => Number.isInteger(g) && g >= 1 && g <= 65_535),
      `${call.label} grid`,
    );
    assert.ok(call.loopCharge(rows) >= 0);
  }
}

/** The roles a training session holds for a model. */
function sessionRoles(spec: MlpSpec): Set<string> {
  const roles = new Set(["x", "y", "indices", "batch", "params", "grads", "state", "lrs", "stats"]);
  roles.add("firstStep");
  const layout = paramLayout(spec);
  layout.layers.forEach((d, l) => {
    roles.add(`act ${l + 1}`);
    roles.add(`delta ${l + 1}`);
    if (d.dropout > 0) roles.add(`dropped ${l + 1}`);
  });
  return roles;
}

const MODELS: ReadonlyArray<[string, MlpSpec]> = [
  ["2-25-3 relu", mlp({ layers: [2, 25, 3] })],
  ["784-256-10 tanh", mlp({ layers: [784, 256, 10], activation: "tanh" })],
  ["3-5-4-2 linear head", mlp({ layers: [3, 5, 4, 2], head: "linear" })],
  ["one layer", mlp({ layers: [4, 3] })],
  [
    "dropout",
    sequential({
      inputs: 6,
      layers: [dense(9), relu(), dropout(0.3), dense(5), tanh(), dropout(0.5), dense(2)],
      head: "softmax",
    }),
  ],
];
const OPTIMIZERS: ReadonlyArray<Optimizer> = [
  sgd(),
  sgd({ momentum: 0.9 }),
  adam(),
  adamw({ weightDecay: 0.01 }),
];

Deno.test("programs: training calls match the binding table, the overrides and the session", () => {
  for (const [name, spec] of MODELS) {
    for (const optimizer of OPTIMIZERS) {
      for (const R of [1, 3]) {
        const calls = trainingCalls(paramLayout(spec), optimizer, R, { head: spec.head, seed: 4 });
        const label = `${name} ${optimizer.kind} R ${R}`;
        for (const call of calls) checkCall(call, sessionRoles(spec), label);
        for (const call of resetCalls(optimizer, paramLayout(spec).paramCount, R)) {
          checkCall(call, sessionRoles(spec), label);
        }
      }
    }
  }
});

Deno.test("programs: a training step runs the layers forward, the loss, then backward and the update", () => {
  const spec = MODELS[4][1]; // two dropouts
  const calls = trainingCalls(paramLayout(spec), adam(), 2, { head: "softmax" });
  assert.deepEqual(calls.map((c) => c.label), [
    "gather",
    "dense_forward 1",
    "dropout 1",
    "dense_forward 2",
    "dropout 2",
    "dense_forward 3",
    "softmax_xent",
    "dense_grad_weights 3",
    "bias_grad 3",
    "dense_grad_input 3",
    "dropout 2 backward",
    "dense_grad_weights 2",
    "bias_grad 2",
    "dense_grad_input 2",
    "dropout 1 backward",
    "dense_grad_weights 1",
    "bias_grad 1",
    "adam_tick",
    "adam",
  ]);
  // Layers after a dropout read the dropped copy; the backward pass differentiates before it.
  const byLabel = new Map(calls.map((c) => [c.label, c]));
  assert.deepEqual(byLabel.get("dense_forward 2")!.bindings, ["params", { dropped: 1 }, {
    act: 2,
  }]);
  assert.deepEqual(byLabel.get("dense_grad_weights 2")!.bindings, [
    { dropped: 1 },
    { delta: 2 },
    "grads",
  ]);
  assert.deepEqual(byLabel.get("dense_grad_input 2")!.bindings, [
    "params",
    { delta: 2 },
    { act: 1 },
    { delta: 1 },
  ]);
  // Replicas: the third grid dimension of every per-replica kernel.
  assert.equal(byLabel.get("dense_forward 1")!.grid(32)[2], 2);
  assert.deepEqual(byLabel.get("softmax_xent")!.grid(32), [1, 1, 2]);
});

Deno.test("programs: with augment the gather is gather_shift, keyed on the seed and firstStep", () => {
  const spec = mlp({ layers: [784, 256, 10], activation: "tanh" });
  const layout = paramLayout(spec);
  const augment = shift({ width: 28, height: 28, maxShift: 2 });
  const plain = trainingCalls(layout, sgd(), 2, { head: "softmax", seed: 4 });
  const shifted = trainingCalls(layout, sgd(), 2, { head: "softmax", seed: 4, augment });
  for (const call of shifted) checkCall(call, sessionRoles(spec), "augment");
  const [gather, ...rest] = shifted;
  assert.equal(gather.shader, "gather_shift");
  assert.deepEqual(gather.bindings, ["firstStep", "x", "indices", "batch"]);
  assert.deepEqual(gather.constants, {
    WIDTH: 28,
    HEIGHT: 28,
    MAX_SHIFT: 2,
    SEED_KEY: dropoutSeedKey(4),
    SHIFT_LAYER,
  });
  assert.deepEqual(gather.grid(128), plain[0].grid(128)); // one invocation per element
  assert.equal(gather.loopCharge(1000), 0);
  // Only the gather changes.
  assert.deepEqual(
    rest.map((c) => [c.label, c.constants]),
    plain.slice(1).map((c) => [
      c.label,
      c.constants,
    ]),
  );
  const other = trainingCalls(layout, sgd(), 2, { head: "softmax", seed: 5, augment });
  assert.notEqual(other[0].constants.SEED_KEY, gather.constants.SEED_KEY);
});

Deno.test("programs: prediction calls share the dense forward builder and hold to their roles", () => {
  for (const [name, spec] of MODELS) {
    const layout = paramLayout(spec);
    for (const combine of ["mean", "none"] as const) {
      for (const [M, rows] of [[1, 1], [10, 256]]) {
        const calls = predictCalls(layout, M, rows, { head: spec.head, combine });
        const roles = new Set(["params", "batch", "weights", "mean"]);
        layout.layers.forEach((_, l) => roles.add(`act ${l + 1}`));
        for (const call of calls) checkCall(call, roles, `${name} predict ${combine}`);
        const shaders = calls.map((c) => c.shader);
        assert.equal(shaders.filter((s) => s === "dense_forward").length, layout.layers.length);
        assert.equal(shaders.includes("softmax"), spec.head === "softmax");
        assert.equal(shaders.includes("combine_mean"), combine === "mean");
        assert.ok(!shaders.includes("dropout"), "dropout is the identity in prediction");
        // The same layer's constants differ from training only by the activation layout.
        const training = trainingCalls(layout, sgd(), M, { head: spec.head })
          .filter((c) => c.shader === "dense_forward");
        calls.filter((c) => c.shader === "dense_forward").forEach((c, l) => {
          const { IN_REP: _a, IN_ROW: _b, OUT_REP: _c, OUT_ROW: _d, ...rest } = c.constants;
          const { IN_REP: _e, IN_ROW: _f, OUT_REP: _g, OUT_ROW: _h, ...same } =
            training[l].constants;
          assert.deepEqual(rest, same, `${name} layer ${l + 1}`);
        });
      }
    }
  }
});

Deno.test("programs: optimizer calls follow the rule's data; stateless rules have no reset", () => {
  assert.deepEqual(optimizerCalls(sgd(), 10, 2).map((c) => c.bindings), [
    ["params", "grads", "state", "lrs"],
  ]);
  assert.deepEqual(optimizerCalls(adam(), 10, 2).map((c) => c.bindings), [
    ["state"],
    ["params", "grads", "state", "lrs"],
  ]);
  assert.deepEqual(optimizerCalls(adam(), 10, 2)[0].grid(1), [1, 1, 1]); // one per replica
  assert.deepEqual(optimizerCalls(adam(), 100, 2)[1].grid(1), [4, 1, 1]); // one per parameter
  assert.equal(resetCalls(sgd(), 10, 2).length, 0);
  assert.equal(resetCalls(adam(), 10, 2)[0].constants.TOTAL, 2 * (2 * 10 + 1));
});

Deno.test("programs: loop charges are the per-kernel budget, counted loop by loop", () => {
  const spec = mlp({ layers: [2, 100] });
  const calls = trainingCalls(paramLayout(spec), sgd(), 1, { head: "softmax" });
  const byLabel = new Map(calls.map((c) => [c.label, c]));
  // softmax_xent: ceil(batch / 64) rows per invocation, 3 loops over the classes per row, then the
  // row loop's exit and the 64-way sum.
  const rows = Math.ceil(1000 / 64);
  assert.equal(
    byLabel.get("softmax_xent")!.loopCharge(1000),
    rows * (100 + 2 * 101) + rows + 1 + 65,
  );
  assert.equal(byLabel.get("bias_grad 1")!.loopCharge(1000), 1001);
  assert.equal(byLabel.get("dense_forward 1")!.loopCharge(1000), 3 + 5 + 4 * 5);
  for (const shader of ["gather", "sgd"]) {
    assert.equal(calls.find((c) => c.shader === shader)!.loopCharge(1000), 0, shader);
  }
  // perKernelLoopCounts is these charges, for the kernels that loop.
  assert.deepEqual(
    perKernelLoopCounts(spec, 1000),
    calls.filter((c) => c.loopCharge(1000) > 0).map((c) => ({
      kernel: c.label,
      count: c.loopCharge(1000),
    })),
  );
});
