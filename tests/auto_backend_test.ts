/**
 * `createBackend("auto", { model })` takes the CPU for a tiny model without probing WebGPU, so that
 * the tutorial's first run prints nothing on stderr (the probe makes Vulkan's loader print
 * `error: XDG_RUNTIME_DIR is invalid or not set` where no display session exists).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createBackend, mlp, planAuto } from "../mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("auto: the tutorial's model takes the CPU at its batch size, without a WebGPU probe", async () => {
  const tiny = mlp({ layers: [2, 25, 3] });
  assert.deepEqual(planAuto({ model: tiny, batchSize: 32 }), { cpuSide: "cpu", tryWebGpu: false });
  const backend = await createBackend("auto", { model: tiny, batchSize: 32 });
  assert.equal(backend.kind, "cpu");
  backend.dispose();
});

Deno.test("auto: examples/blobs.ts prints nothing on stderr, XDG_RUNTIME_DIR unset or not", async () => {
  const home = Deno.env.get("HOME");
  const path = Deno.env.get("PATH");
  const denoDir = Deno.env.get("DENO_DIR");
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "examples/blobs.ts", "--epochs", "20", "--cycles", "2"],
    cwd: ROOT,
    clearEnv: true,
    env: {
      NO_COLOR: "1",
      ...(home === undefined ? {} : { HOME: home }),
      ...(path === undefined ? {} : { PATH: path }),
      ...(denoDir === undefined ? {} : { DENO_DIR: denoDir }),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  assert.equal(err, "");
  assert.match(new TextDecoder().decode(stdout), /on the cpu backend|cpu/i);
});
