/**
 * The vocabularies' tables are complete by construction: a kind without its entry fails
 * `deno check`. Each `@ts-expect-error` below would itself be an error (and fail the type check of
 * `deno task test`) if the incomplete table were accepted.
 */
import assert from "node:assert/strict";
import { type Optimizer, type RuleTable, UPDATE_RULES } from "../lib/optimizers/mod.ts";
import { SGD } from "../lib/optimizers/sgd.ts";

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
