import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CliError, type CliSpec, helpText, parseCli, suggest, usage } from "../examples/_cli.ts";
import { formatDuration, formatLr, progressText } from "../examples/_progress.ts";

const SPEC = {
  script: "examples/x.ts",
  summary: "A test command.",
  flags: {
    backend: { kind: "choice", choices: ["cpu", "webgpu"], default: "cpu", help: "backend" },
    epochs: { kind: "int", default: 10, min: 1, max: 100, help: "epochs" },
    "lr-max": { kind: "number", default: 0.1, above: 0, help: "restart lr" },
    save: { kind: "path", help: "output" },
    json: { kind: "bool", help: "JSON" },
  },
} as const satisfies CliSpec;

function problems(args: string[]): ReadonlyArray<string> {
  try {
    parseCli(SPEC, args);
  } catch (error) {
    assert.ok(error instanceof CliError);
    assert.ok(error.message.endsWith(usage(SPEC)), "every error ends with the usage line");
    return error.problems;
  }
  assert.fail(`accepted ${args.join(" ")}`);
}

Deno.test("cli: defaults, both value forms, camelCase names and --help", () => {
  assert.deepEqual(parseCli(SPEC, []), {
    backend: "cpu",
    epochs: 10,
    lrMax: 0.1,
    save: undefined,
    json: false,
  });
  assert.deepEqual(parseCli(SPEC, ["--epochs", "7", "--lr-max=0.25", "--json", "--save", "out"]), {
    backend: "cpu",
    epochs: 7,
    lrMax: 0.25,
    save: "out",
    json: true,
  });
  assert.equal(parseCli(SPEC, ["--epochs", "x", "--help"]), "help");
  assert.equal(parseCli(SPEC, ["-h"]), "help");
  assert.match(helpText(SPEC), /--lr-max\s+restart lr \(default 0\.1\)/);
});

Deno.test("cli: numbers are strict and negative numbers get a clear message", () => {
  for (const text of ["1e1", "0x0a", " 10 ", "", "010", "7.0", "+7"]) {
    assert.match(problems(["--epochs", text])[0], /written in plain digits/, text);
  }
  assert.deepEqual(problems(["--epochs", "-3"]), [
    "--epochs must be an integer >= 1 and <= 100: got -3, a negative number",
  ]);
  assert.deepEqual(problems(["--epochs=101"]), [
    "--epochs must be an integer >= 1 and <= 100: got 101",
  ]);
  assert.match(problems(["--lr-max", "-0.5"])[0], /must be a decimal number > 0: got -0\.5/);
  assert.match(problems(["--lr-max", "1e-1"])[0], /such as 0\.1/);
});

Deno.test("cli: unknown flags suggest the near miss; every problem comes back at once", () => {
  assert.deepEqual(problems(["--epoch", "5", "--bakend", "cpu", "--zzz"]), [
    "Unknown flag --epoch: did you mean --epochs?",
    'Unexpected argument "5": every option is a --flag',
    "Unknown flag --bakend: did you mean --backend?",
    'Unexpected argument "cpu": every option is a --flag',
    "Unknown flag --zzz",
  ]);
  assert.equal(suggest("lr", ["lr-max", "epochs"]), "lr-max");
  assert.equal(suggest("banana", ["lr-max", "epochs"]), undefined);
});

Deno.test("cli: missing values, empty paths and values for switches are refused", () => {
  assert.deepEqual(problems(["--save"]), ["--save needs a value"]);
  assert.deepEqual(problems(["--save", "--json"]), ["--save needs a value"]);
  assert.deepEqual(problems(["--save="]), ["--save must name a directory: got an empty string"]);
  assert.deepEqual(problems(["--json=yes"]), ['--json takes no value: got "yes"']);
  assert.deepEqual(problems(["--backend", "gpu"]), [
    '--backend must be one of cpu, webgpu: got "gpu"',
  ]);
});

Deno.test("progress: the line shows epoch, snapshots, a readable lr, loss, elapsed and time left", () => {
  const text = progressText("blobs", 10, { epoch: 4, snapshots: 2, lr: 3e-6, loss: 0.5 }, 2000);
  assert.equal(
    text,
    "blobs epoch 4/10  snapshots 2  lr 3.00e-6  loss 0.5000  2.0s elapsed, 3.0s left",
  );
  assert.equal(formatLr(0.1), "0.100");
  assert.equal(formatLr(0), "0");
  assert.equal(formatDuration(125_000), "2m05s");
  assert.equal(formatDuration(3_720_000), "1h02m");
});

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function example(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    // The dev lock: a child that resolves the mnist package must not grow the root deno.lock.
    args: ["run", "--lock=tools/dev.lock", ...args],
    cwd: ROOT,
    env: { XDG_RUNTIME_DIR: "/tmp" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("cli: the examples print help, and with --json a failure prints nothing on stdout", async () => {
  for (const script of ["examples/blobs.ts", "examples/mnist.ts"]) {
    const help = await example([script, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`Usage: deno run ${script}`));
    const bad = await example([script, "--json", "--epochs", "-1"]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, /a negative number\nUsage: /);
  }
  // mnist refuses a single cycle before loading or training anything.
  const one = await example(["examples/mnist.ts", "--cycles", "1"]);
  assert.equal(one.code, 1);
  assert.match(one.stderr, /--cycles must be an integer >= 2/);
  // --save is checked for real before training: a file is not a directory.
  const file = await Deno.makeTempFile();
  try {
    const save = await example([
      `--allow-read=${file}`,
      `--allow-write=${file}`,
      "examples/blobs.ts",
      "--save",
      file,
    ]);
    assert.equal(save.code, 1);
    assert.match(save.stderr, /Cannot save to .*the system refuses to write there/);
    assert.doesNotMatch(save.stdout, /Trained/);
  } finally {
    await Deno.remove(file);
  }
});
