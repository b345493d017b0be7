/**
 * The generated module `lib/backend/_shaders.ts` must hold exactly the sources in `shaders/`
 * (run `deno task shaders` after editing a shader), and every shader must open with the comment
 * that documents it and compile on the adapter at hand.
 */
import assert from "node:assert/strict";
import {
  OUTPUT_PATH,
  readShaderFiles,
  renderShaderModule,
  SHADER_DIR,
} from "../tools/embed_shaders.ts";
import { SHADERS } from "../lib/backend/_shaders.ts";
import { KERNEL_BINDINGS } from "../lib/backend/_pipeline_cache.ts";

const root = new URL("../", import.meta.url);

Deno.test("shaders: lib/backend/_shaders.ts is up to date with shaders/*.wgsl", async () => {
  const files = await readShaderFiles(new URL(SHADER_DIR, root).pathname);
  const expected = renderShaderModule(files);
  const actual = await Deno.readTextFile(new URL(OUTPUT_PATH, root));
  assert.ok(
    actual === expected,
    `${OUTPUT_PATH} is stale: run \`deno task shaders\` and commit the result`,
  );
  assert.deepEqual(Object.keys(SHADERS).sort(), files.map((f) => f.name).sort());
  for (const file of files) {
    assert.equal(SHADERS[file.name as keyof typeof SHADERS], `\n${file.source}`);
  }
});

Deno.test("shaders: the embedding round-trips backticks, backslashes and template markers", async () => {
  const source = "// a `quoted` \\ path and ${not a template}\nfn main() {}\n";
  const rendered = renderShaderModule([{ name: "odd", source }]);
  const url = `data:application/typescript;base64,${btoa(rendered)}`;
  const module = await import(url);
  assert.equal(module.SHADERS.odd, `\n${source}`);
  assert.throws(() => renderShaderModule([{ name: "Bad-Name", source }]), /snake_case/);
});

Deno.test("shaders: each opens with its documentation and declares the bindings the backend binds", () => {
  for (const [name, code] of Object.entries(SHADERS)) {
    const source = code.replace(/^\n/, "");
    assert.ok(source.startsWith(`// ${name}: `), `${name}: must open with "// ${name}: <its job>"`);
    // Uniforms: names the step-record fields the kernel reads ("none" when it reads none).
    for (const heading of ["Job:", "Bindings:", "Uniforms:", "Dispatch:", "Mirrors:"]) {
      assert.ok(
        source.includes(`// ${heading}`),
        `${name}: the opening comment needs "${heading}"`,
      );
    }
    const bindings = [
      ...source.matchAll(/@group\(0\) @binding\((\d+)\) var<storage, (read|read_write)>/g),
    ];
    assert.deepEqual(
      bindings.map((m) => [Number(m[1]), m[2] === "read" ? "read" : "write"]),
      KERNEL_BINDINGS[name as keyof typeof KERNEL_BINDINGS].map((access, k) => [k, access]),
      `${name}: group-0 bindings differ from KERNEL_BINDINGS`,
    );
    assert.match(source, /@group\(1\) @binding\(0\) var<uniform> cur: Step;/);
    // Specialised by override constants, never by string templating.
    assert.doesNotMatch(source, /\$\{|\{\{/);
  }
});

Deno.test("shaders: every shader compiles without errors on the WebGPU adapter", async () => {
  const adapter = await navigator.gpu.requestAdapter();
  assert.ok(adapter, "a WebGPU adapter is required (CI has a software one)");
  const device = await adapter.requestDevice();
  try {
    for (const [name, code] of Object.entries(SHADERS)) {
      const module = device.createShaderModule({ code });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === "error").map((m) => m.message);
      assert.deepEqual(errors, [], `${name} compiles`);
    }
  } finally {
    device.destroy();
  }
});
