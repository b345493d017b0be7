// The main example's first run on an empty cache downloads only what it uses (fp-ts) and prints
// nothing on stderr but Deno's own download lines: benchmark, browser-test and build dependencies
// live in tools/dev.lock, which the development tasks pass with --lock (see README "Tests").
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The lock as committed (`git show HEAD:deno.lock`), or the working copy's where there is no git:
 * development commands run without `--lock=tools/dev.lock` grow the working copy's, and a user's
 * first run meets the committed one.
 */
async function committedLock(): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["show", "HEAD:deno.lock"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.code === 0) return new TextDecoder().decode(out.stdout);
  } catch {
    // no git: fall through
  }
  return await Deno.readTextFile(`${ROOT}/deno.lock`);
}

/** A copy of what a user's first run reads: the config, the committed lock, the code. */
async function checkout(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "snapfold-checkout-" });
  const copy = async (from: string, to: string) => {
    const info = await Deno.stat(from);
    if (info.isDirectory) {
      await Deno.mkdir(to, { recursive: true });
      for await (const entry of Deno.readDir(from)) {
        await copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
      }
    } else await Deno.copyFile(from, to);
  };
  for (const name of ["deno.json", "mod.ts", "io.ts", "plots.ts", "lib", "examples", "shaders"]) {
    await copy(`${ROOT}/${name}`, `${dir}/${name}`);
  }
  await Deno.writeTextFile(`${dir}/deno.lock`, await committedLock());
  return dir;
}

Deno.test("first run: the committed deno.lock holds only the main example's dependency", async () => {
  const lock = JSON.parse(await committedLock());
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
    const root = await checkout();
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "examples/blobs.ts", "--backend", "cpu", "--epochs", "20", "--cycles", "2"],
        cwd: root,
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
      await Deno.remove(root, { recursive: true });
    }
  },
});
