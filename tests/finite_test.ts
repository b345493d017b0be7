/**
 * lib/finite.ts against the plain `Number.isFinite` search, over float32 and float64 arrays with
 * NaN and infinities anywhere (block boundaries included), subarray views, -0, the largest
 * finite values and subnormals.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { countNonFinite, firstNonFinite } from "../lib/finite.ts";

const reference = (v: ArrayLike<number>) => Array.from(v).findIndex((x) => !Number.isFinite(x));

const SPECIAL = [0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45];
const BAD = [NaN, Infinity, -Infinity];

Deno.test("finite: firstNonFinite finds the first NaN or infinity, as Number.isFinite does", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3000 }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(...BAD)), { maxLength: 3 }),
      fc.nat(7),
      fc.boolean(),
      (length, bad, offset, wide) => {
        const Type = wide ? Float64Array : Float32Array;
        const whole = new Type(length + offset);
        for (let k = 0; k < whole.length; k++) whole[k] = SPECIAL[k % SPECIAL.length] * (k % 3);
        for (const [at, value] of bad) if (whole.length > 0) whole[at % whole.length] = value;
        const view = whole.subarray(offset);
        assert.equal(firstNonFinite(view), reference(view));
        const first = reference(view);
        const count = Array.from(view).filter((x) => !Number.isFinite(x)).length;
        assert.equal(countNonFinite(view, Math.max(first, 0)), count);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("finite: every float32 bit pattern of a non-finite value is found, no finite one is", () => {
  const bits = new Uint32Array(8);
  const floats = new Float32Array(bits.buffer);
  const cases: [number, boolean][] = [
    [0x7f800000, true], // +Infinity
    [0xff800000, true], // -Infinity
    [0x7fc00000, true], // quiet NaN
    [0x7f800001, true], // signalling NaN
    [0xffffffff, true], // NaN, all bits
    [0x7f7fffff, false], // largest finite
    [0x80000000, false], // -0
    [0x00000001, false], // smallest subnormal
  ];
  for (const [pattern, bad] of cases) {
    bits.fill(0x3f800000); // 1
    bits[5] = pattern;
    assert.equal(firstNonFinite(floats), bad ? 5 : -1, pattern.toString(16));
  }
});

Deno.test("finite: a view of a detached buffer has no values to scan (the caller's shape check names it)", async () => {
  const x = new Float32Array([1, 2, 3, 4]);
  (x.buffer as ArrayBuffer).transfer(); // detached, as after a postMessage transfer
  assert.equal(x.length, 0);
  assert.equal(firstNonFinite(x), -1);
  const { createCpuBackend, initParams, mlp, sgd } = await import("../mod.ts");
  const { ConfigError } = await import("../lib/errors.ts");
  const spec = mlp({ layers: [2, 3, 2] });
  const backend = createCpuBackend();
  await assert.rejects(
    () =>
      backend.createSession({
        spec,
        optimizer: sgd(),
        params: initParams(spec, { seed: 1 }),
        data: { x, y: new Int32Array([0, 1]), n: 2 },
      }),
    (error: unknown) =>
      error instanceof ConfigError && error.issues.some((i) => i.field === "data.x"),
  );
  backend.dispose();
});
