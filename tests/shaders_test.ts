/**
 * The generated module `lib/backend/webgpu/_shaders.ts` must hold exactly the sources in `shaders/`
 * (run `deno task shaders` after editing a shader), and every shader must open with the comment
 * that documents it and compile on the adapter at hand.
 */
import assert from "node:assert/strict";
import {
  OUTPUT_PATH,
  parseBindings,
  readShaderFiles,
  renderShaderModule,
  SHADER_DIR,
} from "../tools/embed_shaders.ts";
import { SHADER_BINDINGS, SHADERS } from "../lib/backend/webgpu/_shaders.ts";

const root = new URL("../", import.meta.url);

Deno.test("shaders: lib/backend/webgpu/_shaders.ts is up to date with shaders/*.wgsl", async () => {
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

Deno.test("shaders: the binding table is parsed from the declarations, and odd ones are refused", () => {
  const decl = (k: number, access: string, name: string) =>
    `@group(0) @binding(${k}) var<storage, ${access}> ${name}: array<f32>;`;
  const source = [
    "// @group(0) @binding(7) var<storage, read> commented_out: array<f32>;",
    decl(1, "read_write", "out"),
    decl(0, "read", "a"),
    "@group(1) @binding(0) var<uniform> cur: Step;",
  ].join("\n");
  assert.deepEqual(parseBindings({ name: "k", source }), [
    { name: "a", access: "read" },
    { name: "out", access: "write" },
  ]);
  assert.throws(
    () => parseBindings({ name: "k", source: `${decl(0, "read", "a")}\n${decl(2, "read", "b")}` }),
    /numbered 0, 1, 2, \.\.\.: got 0, 2/,
  );
  assert.throws(
    () => parseBindings({ name: "k", source: "@group(0) @binding(0) var<uniform> u: U;" }),
    /must be var<storage, read> or var<storage, read_write>: got var<uniform>/,
  );
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
    // Every group-0 binding is a storage buffer named in the header's "Bindings:" paragraph.
    const bindings = SHADER_BINDINGS[name as keyof typeof SHADER_BINDINGS];
    assert.ok(bindings.length > 0, `${name}: binds storage buffers`);
    const header = source.slice(0, source.indexOf("\n\n"));
    for (const { name: variable } of bindings) {
      assert.match(
        header,
        new RegExp(`\\b${variable}\\b`),
        `${name}: the header names ${variable}`,
      );
    }
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
