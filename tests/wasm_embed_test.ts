/**
 * The generated module `lib/backend/wasm/_wasm.ts` must hold exactly what `wasm/*.wat` assembles to
 * (run `deno task wasm` after editing a kernel), and the plain-SIMD rewrite of the relaxed
 * multiply-add must be exact.
 */
import assert from "node:assert/strict";
import {
  assemble,
  OUTPUT_PATH,
  plainSimd,
  readWatFiles,
  renderWasmModule,
  WAT_DIR,
} from "../tools/embed_wasm.ts";
import { WASM_BINARIES } from "../lib/backend/wasm/_wasm.ts";

const root = new URL("../", import.meta.url);

Deno.test("wasm embed: lib/backend/wasm/_wasm.ts is up to date with wasm/*.wat", async () => {
  const files = await readWatFiles(new URL(WAT_DIR, root).pathname);
  const expected = renderWasmModule(await assemble(files));
  const actual = await Deno.readTextFile(new URL(OUTPUT_PATH, root));
  assert.ok(actual === expected, `${OUTPUT_PATH} is stale: run \`deno task wasm\` and commit it`);
  assert.deepEqual(Object.keys(WASM_BINARIES).sort(), files.map((f) => f.name).sort());
  for (const file of files) {
    assert.match(file.source, /^;; [a-z_]+\.wat: /, `${file.name}.wat opens with its job`);
  }
});

Deno.test("wasm embed: the plain variant spells the multiply-add out, nested ones too", () => {
  const relaxed = "(f32x4.relaxed_madd (local.get $a) (f32x4.relaxed_madd (x) (y) (z)) (c))";
  assert.equal(
    plainSimd(relaxed),
    "(f32x4.add (f32x4.mul (local.get $a) (f32x4.add (f32x4.mul (x) (y)) (z))) (c))",
  );
  assert.equal(plainSimd("(f32x4.add (a) (b))"), "(f32x4.add (a) (b))");
  assert.throws(() => plainSimd("(f32x4.relaxed_madd $a (b) (c))"), /folded expressions/);
  assert.throws(() => plainSimd("(f32x4.relaxed_madd (a) (b) (c) (d))"), /three operands/);
});

Deno.test("wasm embed: the plain variant has no relaxed instruction, the relaxed one validates", async () => {
  const files = await readWatFiles(new URL(WAT_DIR, root).pathname);
  for (const file of files) {
    const code = plainSimd(file.source).replace(/;;[^\n]*/g, "");
    assert.ok(
      !code.includes("relaxed_"),
      `${file.name}: no relaxed instruction in the plain variant`,
    );
  }
  const built = await assemble(files);
  for (const [name, { simd, relaxed }] of Object.entries(built)) {
    assert.ok(WebAssembly.validate(simd), `${name} simd`);
    assert.ok(WebAssembly.validate(relaxed), `${name} relaxed`);
  }
  // dense.wat's tiles really use the relaxed instruction (opcode 0xfd 0x105 as LEB128: 0x85 0x02).
  const dense = built.dense.relaxed;
  const hasMadd = dense.some((b, k) =>
    b === 0xfd && dense[k + 1] === 0x85 && dense[k + 2] === 0x02
  );
  assert.ok(hasMadd, "dense relaxed uses f32x4.relaxed_madd");
});
