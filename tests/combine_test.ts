import assert from "node:assert/strict";
import fc from "fast-check";
import {
  COMBINE_RULES,
  combineRows,
  type CombineRule,
  type Vote,
  VOTES,
} from "../lib/ops/combine.ts";
import { softmaxRows } from "../lib/ops/loss.ts";

// Type-level tests: `deno test` type-checks this file, and an unused `@ts-expect-error` is itself an
// error, so these lines prove that an incomplete rule table fails `deno check`.
type Rules = Record<string, CombineRule>;
const { soft, hard } = COMBINE_RULES;
// @ts-expect-error: a table of every vote rule that forgets "hard" does not compile
const partial: Record<Vote, CombineRule> = { soft };
// @ts-expect-error: a rule without its running form `accumulate` is not a CombineRule
const noRunning = { soft: { heads: soft.heads, combine: soft.combine } } satisfies Rules;
const complete: Record<Vote, CombineRule> = { soft, hard };

/** M member outputs [n, classes] of random probabilities. */
function memberOutputs(m: number, n: number, classes: number, seed: number): Float32Array[] {
  let s = seed;
  const next = () => (s = (s * 48271) % 2147483647) / 2147483647;
  return Array.from({ length: m }, () => {
    const logits = Float32Array.from({ length: n * classes }, () => 4 * next() - 2);
    return softmaxRows(logits, classes);
  });
}

Deno.test("the rule table is complete and names the rules in order", () => {
  assert.deepEqual(VOTES, ["soft", "hard"]);
  assert.deepEqual(Object.keys(complete), VOTES);
  assert.equal(partial.hard, undefined); // the line above really is incomplete
  assert.equal("accumulate" in noRunning.soft, false);
  assert.equal(COMBINE_RULES.soft.device, "mean");
  assert.equal((COMBINE_RULES.hard as CombineRule).device, undefined);
});

Deno.test("soft combine is the float64 weighted mean; hard combine counts weighted argmax votes", () => {
  const outputs = memberOutputs(3, 5, 4, 7);
  const weights = new Float64Array([0.5, 0.2, 0.3]);
  const mean = COMBINE_RULES.soft.combine(outputs, weights, 5, 4);
  for (let k = 0; k < 20; k++) {
    const expected = 0.5 * outputs[0][k] + 0.2 * outputs[1][k] + 0.3 * outputs[2][k];
    assert.equal(mean[k], Math.fround(expected));
  }
  const votes = COMBINE_RULES.hard.combine(outputs, weights, 5, 4);
  for (let r = 0; r < 5; r++) {
    const expected = [0, 0, 0, 0];
    outputs.forEach((p, i) => {
      const row = Array.from(p.subarray(4 * r, 4 * r + 4));
      expected[row.indexOf(Math.max(...row))] += weights[i];
    });
    assert.deepEqual(Array.from(votes.subarray(4 * r, 4 * r + 4)), expected.map(Math.fround));
  }
  // Ties go to the lowest class.
  const tie = new Float32Array([0.4, 0.4, 0.2]);
  assert.deepEqual(Array.from(COMBINE_RULES.hard.combine([tie], new Float64Array([1]), 1, 3)), [
    1,
    0,
    0,
  ]);
});

Deno.test("combine is the fold of accumulate, for every rule (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 1, max: 1000 }),
      (m, n, classes, seed) => {
        const outputs = memberOutputs(m, n, classes, seed);
        const weights = Float64Array.from({ length: m }, (_, i) => (i + 1) / ((m * (m + 1)) / 2));
        for (const vote of VOTES) {
          const rule: CombineRule = COMBINE_RULES[vote];
          const sum = new Float64Array(n * classes);
          outputs.forEach((p, i) => rule.accumulate(sum, p, weights[i], classes));
          assert.deepEqual(rule.combine(outputs, weights, n, classes), Float32Array.from(sum));
        }
      },
    ),
    { seed: 2017, numRuns: 60 },
  );
});

Deno.test("combineRows (the CPU's fused soft mean) matches the soft rule's reference", () => {
  const n = 6;
  const classes = 3;
  let s = 11;
  const next = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const logits = Array.from(
    { length: 3 },
    () => Float32Array.from({ length: n * classes }, () => 6 * next() - 3),
  );
  const weights = new Float64Array([0.25, 0.25, 0.5]);
  const probs = logits.map((z) => softmaxRows(z.slice(), classes));
  const expected = COMBINE_RULES.soft.combine(probs, weights, n, classes);
  const out = new Float32Array(n * classes);
  logits.forEach((z, i) => combineRows(z.slice(), n, classes, true, out, 0, weights[i], true));
  for (let k = 0; k < out.length; k++) assert.ok(Math.abs(out[k] - expected[k]) < 1e-6);
  // Without softmax and accumulation it writes weight * output.
  const plain = new Float32Array(n * classes).fill(9);
  combineRows(logits[0].slice(), n, classes, false, plain, 0, 2, false);
  assert.deepEqual(plain, logits[0].map((v) => 2 * v));
});
