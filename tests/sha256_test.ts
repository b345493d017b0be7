import assert from "node:assert/strict";
import { sha256Hex } from "../lib/sha256.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("sha256Hex matches the FIPS 180-4 / NIST CAVP vectors", () => {
  assert.equal(
    sha256Hex(new Uint8Array()),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex(text("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    sha256Hex(
      text(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      ),
    ),
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  );
  assert.equal(
    sha256Hex(new Uint8Array(1_000_000).fill(0x61)),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

Deno.test("sha256Hex of a subarray hashes only the view", () => {
  const whole = text("xxabcxx");
  assert.equal(sha256Hex(whole.subarray(2, 5)), sha256Hex(text("abc")));
});

const python = "/usr/bin/python3";
const hasPython = await new Deno.Command(python, { args: ["-c", "import hashlib"], stderr: "null" })
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "sha256Hex agrees with Python's hashlib on every length around the block boundaries",
  ignore: !hasPython,
  fn: async () => {
    // Deterministic bytes (a small LCG) of lengths 0..300, covering the 55/56/63/64-byte padding cases.
    const messages: Uint8Array[] = [];
    let x = 12345;
    for (let n = 0; n <= 300; n++) {
      const m = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        m[i] = x >>> 24;
      }
      messages.push(m);
    }
    const hex = messages.map((m) => Array.from(m, (b) => b.toString(16).padStart(2, "0")).join(""));
    const out = await new Deno.Command(python, {
      args: [
        "-c",
        "import hashlib, json, sys\n" +
        "print(json.dumps([hashlib.sha256(bytes.fromhex(h)).hexdigest() for h in json.load(sys.stdin)]))",
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const writer = out.stdin.getWriter();
    await writer.write(text(JSON.stringify(hex)));
    await writer.close();
    const result = await out.output();
    assert.ok(result.success);
    const theirs: string[] = JSON.parse(new TextDecoder().decode(result.stdout));
    assert.deepEqual(messages.map(sha256Hex), theirs);
  },
});
