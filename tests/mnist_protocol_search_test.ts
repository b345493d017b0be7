/**
 * tools/mnist_protocol_search.ts: the candidate list and the selection rule, on hand-made scores
 * (the search itself trains for about a quarter of an hour and is not run here).
 */
import assert from "node:assert/strict";
import {
  advantage,
  type Candidate,
  candidateLabel,
  CANDIDATES,
  eligible,
  type SeedResult,
  selectProtocol,
  summariseCandidate,
} from "../tools/mnist_protocol_search.ts";

Deno.test("protocol search: the earlier six are candidates, none twice, each valid for the study", () => {
  const labels = CANDIDATES.map(candidateLabel);
  for (
    const old of [
      "30/5/0.2/0/0",
      "30/5/0.2/2/0",
      "30/5/0.2/0/0.2",
      "30/3/0.2/2/0",
      "60/5/0.2/2/0",
      "30/5/0.2/2/0.2",
    ]
  ) {
    assert.ok(labels.includes(old), old);
  }
  assert.equal(new Set(labels).size, labels.length);
  // examples/mnist.ts refuses an E that M does not divide, and offers these dropout rates.
  for (const k of CANDIDATES) {
    assert.equal(k.epochs % k.cycles, 0, candidateLabel(k));
    assert.ok([0, 0.1, 0.2, 0.3, 0.5].includes(k.dropout), candidateLabel(k));
  }
});

const seed = (s: number, errors: [number, number], single: number, snapshot: number) => ({
  seed: s,
  single: { error: errors[0], logLoss: single + 0.01, logLossTemperature: single },
  snapshot: {
    error: errors[1],
    logLoss: snapshot,
    logLossTemperature: snapshot - 0.001,
    disagreement: 0.01,
  },
  seconds: 1,
} satisfies SeedResult);

const k = (epochs: number, lrMax = 0.2): Candidate => ({
  epochs,
  cycles: 5,
  lrMax,
  augment: 2,
  dropout: 0,
});

Deno.test("protocol search: the rule admits error ties, maximises the advantage, breaks ties by budget", () => {
  // Snapshot 0.2 points worse on one seed, 0.2 better on the other: mean diff 0, eligible.
  const even = summariseCandidate(k(60), [
    seed(1, [3, 3.2], 0.1, 0.09),
    seed(2, [3, 2.8], 0.1, 0.1),
  ]);
  assert.ok(eligible(even));
  assert.ok(Math.abs(even.paired.errorDiff.mean) < 1e-12);
  assert.ok(Math.abs(advantage(even) - 0.005) < 1e-12);
  assert.ok(Math.abs(even.paired.logLossDiff.mean + 0.015) < 1e-12);
  assert.ok(Math.abs(even.paired.temperatureDiff.mean + 0.006) < 1e-12);
  // A larger advantage but a worse error: not eligible, whatever its log-loss.
  const worse = summariseCandidate(k(30), [seed(1, [3, 3.4], 0.1, 0.05)]);
  assert.ok(!eligible(worse));
  // Same advantage at 4 decimals as `even`, smaller budget: wins the tie.
  const cheap = summariseCandidate(k(30, 0.4), [seed(1, [3, 3], 0.1, 0.09502)]);
  assert.equal(selectProtocol([even, worse]), 0);
  assert.equal(selectProtocol([even, worse, cheap]), 2);
  // Same advantage and budget: the earlier candidate stays.
  const twin = summariseCandidate(k(60, 0.4), [seed(1, [3, 3], 0.1, 0.095)]);
  assert.equal(selectProtocol([even, twin]), 0);
  // A clear advantage wins over a cheaper budget.
  const better = summariseCandidate(k(100), [seed(1, [3, 2.6], 0.1, 0.08)]);
  assert.equal(selectProtocol([cheap, better, even]), 1);
  // No eligible candidate: no winner, even when the snapshot ensemble wins in log-loss.
  assert.equal(selectProtocol([worse]), -1);
  assert.equal(selectProtocol([]), -1);
});
