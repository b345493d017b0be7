// The main example's first run on an empty cache downloads only what it uses (fp-ts) and prints
// nothing on stderr but Deno's own download lines: benchmark, browser-test and build dependencies
// live in tools/dev.lock, which the development tasks pass with --lock (see README "Tests").
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("first run: the committed deno.lock holds only the main example's dependency", async () => {
  const lock = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.lock`));
  assert.deepEqual(Object.keys(lock.npm ?? {}), ["fp-ts@2.16.11"]);
  assert.deepEqual(Object.keys(lock.specifiers ?? {}), ["npm:fp-ts@2.16.11"]);
});

Deno.test({
  name:
    "first run: examples/blobs.ts on an empty cache downloads one package and warns about nothing",
  // Needs the npm registry; CI reaches it, so under CI the test runs and must pass.
  ignore: Deno.env.get("SNAPFOLD_OFFLINE") === "1",
  async fn() {
    const cache = await Deno.makeTempDir({ prefix: "snapfold-first-run-" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "examples/blobs.ts", "--backend", "cpu", "--epochs", "20", "--cycles", "2"],
        cwd: ROOT,
        env: { DENO_DIR: cache, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const lines = stderr.split("\n").filter((line) => line.trim() !== "");
      const downloads = lines.filter((line) => line.startsWith("Download "));
      assert.deepEqual(lines.filter((line) => !line.startsWith("Download ")), [], stderr);
      const tarballs = downloads.filter((line) => line.endsWith(".tgz"));
      assert.equal(tarballs.length, 1, stderr);
      assert.match(tarballs[0], /fp-ts-2\.16\.11\.tgz$/);
      assert.match(new TextDecoder().decode(out.stdout), /Trained a 2-25-3 MLP/);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});
