/**
 * The crash suite: a child process saves an ensemble over and over and is killed with SIGKILL at
 * many moments; the target must always be the complete old file or the complete new one, and the
 * temporary files the kills leave behind must be removed by the next save.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { saveEnsemble } from "../io.ts";
import { initParams, mlp } from "../lib/model/mod.ts";
import { decodeEnsemble, encodeEnsemble, type EnsembleData } from "../lib/persistence.ts";

const KILLS = 30;
const spec = mlp({ layers: [256, 512, 10] });

/** The two ensembles the child alternates between (the child builds the same ones). */
function ensemble(members: number, seed: number): EnsembleData {
  return {
    snapshots: Array.from({ length: members }, (_, i) => ({
      index: i + 1,
      epoch: i,
      step: 10 * i,
      lr: 0.01,
      spec,
      params: initParams(spec, { seed: seed + i }),
    })),
    metadata: { seed: String(seed) },
  };
}

// Children resolve with the dev lock, so a test run never grows the root deno.lock.
const DEV_LOCK = `--lock=${new URL("../tools/dev.lock", import.meta.url).pathname}`;

const CHILD = `
import { saveEnsemble } from ${JSON.stringify(new URL("../io.ts", import.meta.url).href)};
import { initParams, mlp } from ${
  JSON.stringify(new URL("../lib/model/mod.ts", import.meta.url).href)
};

const spec = mlp({ layers: [256, 512, 10] });
const ensemble = (members, seed) => ({
  snapshots: Array.from({ length: members }, (_, i) => ({
    index: i + 1, epoch: i, step: 10 * i, lr: 0.01, spec, params: initParams(spec, { seed: seed + i }),
  })),
  metadata: { seed: String(seed) },
});
const data = [ensemble(3, 100), ensemble(2, 1)];
for (let i = 0; ; i++) {
  console.log(i);
  await saveEnsemble(Deno.args[0], data[i % 2]);
}
`;

async function readLines(
  stream: ReadableStream<Uint8Array>,
  until: (line: string) => boolean,
): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the child ended before it was killed");
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      if (lines.some(until)) return;
    }
  } finally {
    reader.releaseLock();
  }
}

Deno.test("kill -9 during saves leaves the complete old or new file; the next save cleans up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "snapfold_crash_" });
  try {
    const target = `${dir}/e.safetensors`;
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(script, CHILD);
    const old = encodeEnsemble(ensemble(2, 1));
    const next = encodeEnsemble(ensemble(3, 100));
    await saveEnsemble(target, ensemble(2, 1));
    const config = fileURLToPath(new URL("../deno.json", import.meta.url));
    let leftBehind = 0;
    for (let round = 0; round < KILLS; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          DEV_LOCK,
          "--quiet",
          "--no-check",
          "--config",
          config,
          "--allow-read",
          `--allow-write=${dir}`,
          script,
          target,
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      // Seeing line k means saves 0..k-1 are complete and save k has begun; a short pause that
      // varies by round spreads the kills over the phases of a save (encode, write, sync, rename).
      const k = 1 + (round % 3);
      await readLines(child.stdout, (line) => Number(line) >= k);
      await new Promise((resolve) => setTimeout(resolve, 4 * (round % 6)));
      child.kill("SIGKILL");
      const status = await child.status; // reaped: its pid names no process any more
      await child.stdout.cancel();
      assert.equal(status.signal, "SIGKILL");
      const bytes = await Deno.readFile(target);
      const isOld = bytes.length === old.length && bytes.every((b, i) => b === old[i]);
      const isNew = bytes.length === next.length && bytes.every((b, i) => b === next[i]);
      assert.ok(isOld || isNew, `round ${round}: the target is neither file whole`);
      assert.equal(decodeEnsemble(bytes).verified, true);
      const temps = (await Array.fromAsync(Deno.readDir(dir))).filter((e) =>
        e.name.endsWith(".snapfold-tmp")
      );
      leftBehind += temps.length;
      // The child's first save removed what the child before it left; only its own can remain.
      assert.ok(temps.length <= 1 && temps.every((t) => t.name.includes(`.${child.pid}.`)));
    }
    await saveEnsemble(target, ensemble(2, 1));
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(names, ["child.ts", "e.safetensors"], `${leftBehind} left behind in total`);
    assert.deepEqual(await Deno.readFile(target), old);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
