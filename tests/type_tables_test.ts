/**
 * The vocabulary tables are checked by the compiler: a table keyed by a vocabulary that misses a
 * kind, or an exhaustive switch that misses a case, fails `deno check`. The `@ts-expect-error`
 * lines below are the proof: if an incomplete table ever compiled, the directive itself would be
 * an error ("unused @ts-expect-error"), so `deno check` and `deno test` fail.
 *
 * At run time: the activation table is the code space of the shaders' `ACT` override (linear the
 * default case, every other code a `case` of each WGSL switch over it).
 */
import assert from "node:assert/strict";
import { type Optimizer, type RuleTable, UPDATE_RULES } from "../lib/optimizers/mod.ts";
import { SGD } from "../lib/optimizers/sgd.ts";
import {
  type Activation,
  type ActivationCode,
  type ActivationDef,
  ACTIVATIONS,
} from "../lib/ops/activation.ts";
import { forwardDense, LINEAR, RELU, SIGMOID, TANH } from "../lib/ops/_dense_blocked.ts";
import type { Layer, LayerKind } from "../lib/model/mod.ts";
import { SHADERS } from "../lib/backend/webgpu/_shaders.ts";

/** A copy of the kernels' switch pattern (`activateRange` in lib/ops/_dense_blocked.ts). */
function complete(act: ActivationCode): string {
  switch (act) {
    case LINEAR:
      return "linear";
    case RELU:
      return "relu";
    case TANH:
      return "tanh";
    case SIGMOID:
      return "sigmoid";
    default: {
      const unreachable: never = act;
      return unreachable;
    }
  }
}

Deno.test("type tables: an activation table or switch that misses an activation fails to compile", () => {
  // @ts-expect-error sigmoid is missing from a table keyed by every activation.
  const incomplete: Record<Activation, number> = { linear: 0, relu: 1, tanh: 2 };
  assert.equal(Object.keys(incomplete).length, 3);

  // A new entry in ACTIVATIONS widens the code union; the kernels' switches then miss its case.
  const WIDER = {
    ...ACTIVATIONS,
    gelu: { code: 4, f: (z: number) => z, dfOfOutput: () => 1 },
  } as const satisfies Record<string, ActivationDef>;
  type WiderCode = (typeof WIDER)[keyof typeof WIDER]["code"];
  const kernelSwitch = (act: WiderCode): string => {
    switch (act) {
      case LINEAR:
      case RELU:
      case TANH:
      case SIGMOID:
        return "handled";
      default: {
        // @ts-expect-error gelu's code 4 has no case, so `act` is not `never` here.
        const unreachable: never = act;
        return unreachable;
      }
    }
  };
  assert.equal(kernelSwitch(RELU), "handled");
  // The kernels take only the table's codes: 4 is no ActivationCode.
  const out = new Float32Array(1);
  const gelu = () => {
    const x = new Float32Array(1);
    const p = new Float32Array(2);
    // @ts-expect-error forwardDense takes an ActivationCode, and gelu's code is not one.
    forwardDense(x, 1, p, 0, 1, 1, 1, out, WIDER.gelu.code);
  };
  // And at run time the exhaustive switch refuses it too.
  assert.throws(gelu, /unknown code: got 4/);
  assert.deepEqual(
    (Object.keys(ACTIVATIONS) as Activation[]).map((a) => complete(ACTIVATIONS[a].code)),
    Object.keys(ACTIVATIONS),
  );
});

Deno.test("type tables: layer kinds are dense, dropout and every activation", () => {
  const kinds: Record<LayerKind, true> = {
    dense: true,
    dropout: true,
    linear: true,
    relu: true,
    tanh: true,
    sigmoid: true,
  };
  // @ts-expect-error a table keyed by the layer kinds must name dropout.
  const missing: Record<LayerKind, true> = {
    dense: true,
    linear: true,
    relu: true,
    tanh: true,
    sigmoid: true,
  };
  // @ts-expect-error a dropout layer needs its rate.
  const noRate: Layer = { kind: "dropout" };
  assert.equal(Object.keys(kinds).length, Object.keys(missing).length + 1);
  assert.equal(noRate.kind, "dropout");
});

Deno.test("type tables: the activation codes are the WGSL ACT code space", () => {
  const codes = Object.values(ACTIVATIONS).map((a) => a.code).sort();
  assert.deepEqual(codes, [...codes.keys()], "codes are 0 .. N-1, each once");
  assert.equal(ACTIVATIONS.linear.code, 0, "linear is the shaders' default case");
  const nonLinear = Object.values(ACTIVATIONS).map((a) => a.code).filter((c) => c !== 0).sort();
  let switches = 0;
  for (const [name, source] of Object.entries(SHADERS)) {
    // Every `switch ACT` / `switch act` block: its cases up to the default.
    for (const m of source.matchAll(/switch (?:ACT|act) \{([\s\S]*?)default:/g)) {
      const cases = [...m[1].matchAll(/case (\d+)u:/g)].map((c) => Number(c[1])).sort();
      assert.deepEqual(cases, nonLinear, `${name}: a case per non-linear activation code`);
      switches++;
    }
  }
  assert.equal(switches, 4, "dense_forward, dense_grad_input and train_fused (two) switch on ACT");
});

Deno.test("tables: an optimizer kind without its update rule does not type-check", () => {
  // A new kind in the union...
  type WithLion = Optimizer | { readonly kind: "lion"; readonly beta: number };
  // @ts-expect-error ...makes the existing table incomplete: "lion" has no rule.
  const incomplete: RuleTable<WithLion> = UPDATE_RULES;
  // @ts-expect-error A table missing "adam" is refused too.
  const missing: RuleTable<Optimizer> = { sgd: SGD };
  assert.deepEqual(Object.keys(UPDATE_RULES).sort(), ["adam", "sgd"]);
  assert.ok(incomplete !== undefined && missing !== undefined);
});
