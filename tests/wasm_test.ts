/**
 * The WebAssembly backend passes every shared backend case (tests/_backend_cases.ts) in both of its
 * variants, relaxed SIMD and plain SIMD.
 */
import assert from "node:assert/strict";
import { registerBackendCases } from "./_backend_cases.ts";
import { createWasmBackend } from "../lib/backend/wasm/backend.ts";
import { wasmSupport } from "../lib/backend/wasm/_kernels.ts";

registerBackendCases("wasm relaxed", () => createWasmBackend({ simd: "relaxed" }));
registerBackendCases("wasm simd", () => createWasmBackend({ simd: "simd" }));

Deno.test("wasm: this runtime validates both variants, and auto takes relaxed SIMD", async () => {
  assert.deepEqual(wasmSupport(), { simd: true, relaxed: true });
  const backend = await createWasmBackend();
  assert.equal(backend.kind, "wasm");
  assert.equal(backend.readCost, "free");
  assert.match(backend.adapter ?? "", /relaxed SIMD, 1 thread/);
  backend.dispose();
  await assert.rejects(() => createWasmBackend({ simd: "avx" as "simd" }), /simd must be one of/);
});
