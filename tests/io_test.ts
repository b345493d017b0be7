import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadCheckpoint, loadEnsemble, saveCheckpoint, saveEnsemble, saveText } from "../io.ts";
import { ConfigError, SnapfoldError } from "../lib/errors.ts";
import { initParams, mlp, type MlpSpec } from "../lib/model/mod.ts";
import { decodeEnsemble } from "../lib/persistence.ts";
import { randomState } from "../lib/random.ts";
import type { Snapshot } from "../lib/snapshot.ts";

// Children resolve with the dev lock, so a test run never grows the root deno.lock.
const DEV_LOCK = `--lock=${new URL("../tools/dev.lock", import.meta.url).pathname}`;

function snapshots(spec: MlpSpec, m: number): Snapshot[] {
  return Array.from({ length: m }, (_, i) => ({
    index: i + 1,
    epoch: i,
    step: 10 * i,
    lr: 0.01,
    spec,
    params: initParams(spec, { seed: i }),
  }));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "snapfold_io_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

const spec = mlp({ layers: [2, 6, 3] });

Deno.test("saveEnsemble then loadEnsemble round-trips, and leaves no temporary file", async () => {
  await withDir(async (dir) => {
    const members = snapshots(spec, 3);
    const schedule = { name: "constant" as const, options: { lr: 0.01 } };
    await saveEnsemble(`${dir}/e.safetensors`, {
      snapshots: members,
      schedule,
      metadata: { a: "b" },
    });
    const back = await loadEnsemble(new URL(`file://${dir}/e.safetensors`));
    assert.deepEqual(back.snapshots, members);
    assert.deepEqual(back.schedule, schedule);
    assert.deepEqual(back.metadata, { a: "b" });
    assert.deepEqual(await names(dir), ["e.safetensors"]);
    // Saving again replaces the file whole.
    await saveEnsemble(`${dir}/e.safetensors`, { snapshots: members.slice(1) });
    assert.equal((await loadEnsemble(`${dir}/e.safetensors`)).snapshots.length, 2);
    assert.deepEqual(await names(dir), ["e.safetensors"]);
  });
});

Deno.test("a failing encode leaves the existing file intact", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/e.safetensors`;
    await saveEnsemble(path, { snapshots: snapshots(spec, 2) });
    const before = await Deno.readFile(path);
    const broken = snapshots(spec, 2);
    broken[1] = { ...broken[1], params: new Float32Array(3) };
    await assert.rejects(saveEnsemble(path, { snapshots: broken }), ConfigError);
    assert.deepEqual(await Deno.readFile(path), before);
    assert.deepEqual(await names(dir), ["e.safetensors"]);
  });
});

Deno.test("a failing rename removes the temporary file and keeps what was there", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/taken`);
    await Deno.writeTextFile(`${dir}/taken/keep.txt`, "old");
    await assert.rejects(
      saveText(`${dir}/taken`, "new"),
      (e: unknown) => {
        assert.ok(e instanceof SnapfoldError);
        assert.match(e.message, /^Cannot save text to ".*taken": /);
        return true;
      },
    );
    assert.deepEqual(await names(dir), ["taken"]);
    assert.equal(await Deno.readTextFile(`${dir}/taken/keep.txt`), "old");
    await assert.rejects(
      saveText(`${dir}/missing/x.svg`, "x"),
      /Cannot save text to ".*missing\/x\.svg": /,
    );
  });
});

Deno.test("readers never see a half-written file while a save is in flight", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/big.safetensors`;
    const big = mlp({ layers: [784, 256, 10] });
    await saveEnsemble(path, { snapshots: snapshots(big, 1) });
    const oldBytes = await Deno.readFile(path);
    let done = false;
    const saving = saveEnsemble(path, { snapshots: snapshots(big, 4) }).finally(() => done = true);
    let reads = 0;
    while (!done) {
      const bytes = await Deno.readFile(path);
      // Either the old file or the complete new one: both decode.
      const members = decodeEnsemble(bytes).snapshots.length;
      assert.ok(members === 1 || members === 4);
      if (members === 1) assert.equal(bytes.length, oldBytes.length);
      reads++;
    }
    await saving;
    assert.equal((await loadEnsemble(path)).snapshots.length, 4);
    assert.ok(reads >= 1);
  });
});

Deno.test("saveText writes UTF-8 atomically", async () => {
  await withDir(async (dir) => {
    await saveText(`${dir}/a.svg`, "<svg>ü</svg>");
    assert.equal(await Deno.readTextFile(`${dir}/a.svg`), "<svg>ü</svg>");
    assert.deepEqual(await names(dir), ["a.svg"]);
  });
});

Deno.test("loading a corrupt or missing file fails clearly", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/t.safetensors`, new Uint8Array([1, 2, 3]));
    await assert.rejects(
      loadEnsemble(`${dir}/t.safetensors`),
      /Cannot decode ensemble file: file must hold/,
    );
    await assert.rejects(
      loadEnsemble(`${dir}/none.safetensors`),
      /Cannot load ensemble from ".*none\.safetensors": /,
    );
  });
});

Deno.test("missing permissions name the flag to add", async () => {
  await withDir(async (dir) => {
    const io = new URL("../io.ts", import.meta.url).href;
    const script = `${dir}/script.ts`;
    await Deno.writeTextFile(
      script,
      `import { loadEnsemble, saveText } from ${JSON.stringify(io)};
for (const run of [() => saveText(${
        JSON.stringify(`${dir}/out/a.svg`)
      }, "x"), () => loadEnsemble("/nope.safetensors")]) {
  try { await run(); console.log("no error"); } catch (e) { console.log(e.name + ": " + e.message); }
}`,
    );
    await Deno.mkdir(`${dir}/out`);
    const config = fileURLToPath(new URL("../deno.json", import.meta.url));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        DEV_LOCK,
        "--quiet",
        "--config",
        config,
        `--allow-read=${dir},${fileURLToPath(new URL("..", import.meta.url))}`,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    assert.equal(lines.length, 2, new TextDecoder().decode(out.stderr));
    assert.equal(
      lines[0],
      `SnapfoldError: Cannot save text to "${dir}/out/a.svg": write permission is missing: run with --allow-write=${dir}/out`,
    );
    assert.equal(
      lines[1],
      'SnapfoldError: Cannot load ensemble from "/nope.safetensors": read permission is missing: run with --allow-read=/nope.safetensors',
    );
    assert.deepEqual(await names(`${dir}/out`), []);
  });
});

Deno.test("saveText: a new file gets mode 0644, a replaced file keeps its mode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/chart.svg`;
    await saveText(path, "<svg/>");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    await Deno.chmod(path, 0o600);
    await saveText(path, "<svg></svg>");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(path), "<svg></svg>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saving through a symbolic link writes the link's target and keeps the link", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/real`);
    await Deno.mkdir(`${dir}/links`);
    await saveText(`${dir}/real/a.svg`, "old");
    await Deno.symlink("../real/a.svg", `${dir}/links/a.svg`); // relative, as ln -s makes them
    await Deno.symlink(`${dir}/links/a.svg`, `${dir}/links/chain.svg`); // a link to a link
    await saveText(`${dir}/links/a.svg`, "new");
    assert.ok((await Deno.lstat(`${dir}/links/a.svg`)).isSymlink);
    assert.equal(await Deno.readLink(`${dir}/links/a.svg`), "../real/a.svg");
    assert.equal(await Deno.readTextFile(`${dir}/real/a.svg`), "new");
    await saveEnsemble(`${dir}/links/chain.svg`, { snapshots: snapshots(spec, 1) });
    assert.ok((await Deno.lstat(`${dir}/links/chain.svg`)).isSymlink);
    assert.equal((await loadEnsemble(`${dir}/real/a.svg`)).snapshots.length, 1);
    // A dangling link: its target is created, the link stays.
    await Deno.symlink("../real/b.svg", `${dir}/links/b.svg`);
    await saveText(`${dir}/links/b.svg`, "b");
    assert.ok((await Deno.lstat(`${dir}/links/b.svg`)).isSymlink);
    assert.equal(await Deno.readTextFile(`${dir}/real/b.svg`), "b");
    assert.deepEqual(await names(`${dir}/real`), ["a.svg", "b.svg"]);
    assert.deepEqual(await names(`${dir}/links`), ["a.svg", "b.svg", "chain.svg"]);
  });
});

Deno.test("a directory, or a link to one, is refused and left alone", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/d`);
    await Deno.symlink(`${dir}/d`, `${dir}/to_d`);
    await assert.rejects(
      saveEnsemble(`${dir}/d`, { snapshots: snapshots(spec, 1) }),
      /^SnapfoldError: Cannot save ensemble to ".*\/d": it is a directory: give the path of a file$/,
    );
    await assert.rejects(
      saveText(`${dir}/to_d`, "x"),
      /Cannot save text to ".*to_d": it is a directory \(the link points to ".*\/d"\)/,
    );
    assert.ok((await Deno.lstat(`${dir}/to_d`)).isSymlink);
    assert.deepEqual(await names(dir), ["d", "to_d"]);
    assert.deepEqual(await names(`${dir}/d`), []);
    await assert.rejects(saveText("", "x"), /Cannot save text: path must be a non-empty file path/);
    await assert.rejects(
      loadEnsemble(new URL("https://example.com/e.safetensors")),
      /Cannot load ensemble: path must be a non-empty file path or a file: URL/,
    );
  });
});

Deno.test("the next save removes temporary files of dead saves, and only those", async () => {
  await withDir(async (dir) => {
    // Dead saves: no process holds their lock. A live save in another process holds its lock
    // (played here by a lock this test takes through its own file handle).
    const dead = [
      `.e.safetensors.1.0a1b2c3d.snapfold-tmp`,
      `.x.svg.99999999.00000000.snapfold-tmp`,
    ];
    const live = `.e.safetensors.2.0a1b2c3d.snapfold-tmp`;
    const liveButOld = `.e.safetensors.2.ffffffff.snapfold-tmp`;
    const mine = `.e.safetensors.${Deno.pid}.12345678.snapfold-tmp`;
    const mineOld = `.e.safetensors.${Deno.pid}.87654321.snapfold-tmp`;
    const unrelated = [
      ".e.safetensors.tmp",
      "e.safetensors.3.0a1b2c3d.snapfold-tmp",
      ".a.1.xyz.snapfold-tmp",
    ];
    for (const name of [...dead, live, liveButOld, mine, mineOld, ...unrelated]) {
      await Deno.writeTextFile(`${dir}/${name}`, "partial");
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    for (const name of [liveButOld, mineOld]) {
      await Deno.utime(`${dir}/${name}`, twoHoursAgo, twoHoursAgo);
    }
    const locks = await Promise.all(
      [live, liveButOld].map((name) => Deno.open(`${dir}/${name}`, { read: true })),
    );
    try {
      for (const lock of locks) await lock.lock(true);
      await saveEnsemble(`${dir}/e.safetensors`, { snapshots: snapshots(spec, 1) });
      assert.deepEqual(await names(dir), [...unrelated, live, mine, "e.safetensors"].sort());
    } finally {
      for (const lock of locks) lock.close();
    }
    // Once its lock is released (its process died), the next save removes it.
    await saveText(`${dir}/other.svg`, "x");
    assert.deepEqual(await names(dir), [...unrelated, mine, "e.safetensors", "other.svg"].sort());
  });
});

Deno.test("saveCheckpoint then loadCheckpoint round-trips atomically", async () => {
  await withDir(async (dir) => {
    const checkpoint = {
      epoch: 4,
      step: 40,
      snapshotsTaken: 2,
      params: initParams(spec, { seed: 3 }),
      optimizerState: new Float32Array(initParams(spec, { seed: 4 })),
      random: randomState(9).snapshot(),
    };
    await saveCheckpoint(`${dir}/c.safetensors`, checkpoint);
    assert.deepEqual(await loadCheckpoint(`${dir}/c.safetensors`), checkpoint);
    await assert.rejects(
      saveCheckpoint(`${dir}/c.safetensors`, { ...checkpoint, epoch: -1 }),
      /^ConfigError: Cannot encode checkpoint: epoch must be a non-negative integer: got -1$/,
    );
    assert.deepEqual(await loadCheckpoint(`${dir}/c.safetensors`), checkpoint);
    await assert.rejects(
      loadEnsemble(`${dir}/c.safetensors`),
      /file is a checkpoint, not an ensemble: load it with loadCheckpoint/,
    );
    assert.deepEqual(await names(dir), ["c.safetensors"]);
  });
});

Deno.test("a save allowed to write but not to read names the read permission", async () => {
  await withDir(async (dir) => {
    const io = new URL("../io.ts", import.meta.url).href;
    const script = `${dir}/script.ts`;
    await Deno.writeTextFile(
      script,
      `import { saveText } from ${JSON.stringify(io)};
try { await saveText(${JSON.stringify(`${dir}/out/a.svg`)}, "x"); console.log("no error"); }
catch (e) { console.log(e.name + ": " + e.message); }`,
    );
    await Deno.mkdir(`${dir}/out`);
    const config = fileURLToPath(new URL("../deno.json", import.meta.url));
    const repo = fileURLToPath(new URL("..", import.meta.url));
    const run = async (flags: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", DEV_LOCK, "--quiet", "--no-prompt", "--config", config, ...flags, script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout).trim() || new TextDecoder().decode(out.stderr);
    };
    // The script and the library are readable (so the import works), the output directory is not.
    assert.equal(
      await run([`--allow-read=${script},${repo}`, `--allow-write=${dir}/out`]),
      `SnapfoldError: Cannot save text to "${dir}/out/a.svg": read permission is missing: run with --allow-read=${dir}/out`,
    );
    assert.equal(
      await run([`--allow-read=${script},${repo}`]),
      `SnapfoldError: Cannot save text to "${dir}/out/a.svg": read and write permissions are missing: ` +
        `run with --allow-read=${dir}/out --allow-write=${dir}/out`,
    );
    assert.deepEqual(await names(`${dir}/out`), []);
  });
});
