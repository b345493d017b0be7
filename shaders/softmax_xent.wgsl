// softmax_xent: the fused softmax cross-entropy head of a training step: loss, gradient and the
// step's statistics in one pass over the logits.
//
// Job:       for each replica r and row i < batch, with label y = labels[indices[start + i]]:
//              p = softmax(z[r, i, :]) computed as exp(z - max z) / sum, which cannot overflow;
//              loss_i = log(sum exp(z - max z)) + max z - z[y]   (= -log p[y], stable);
//              dz[r, i, j] = (p[j] - [j == y]) / batch           (gradient of the batch mean);
//              correct_i = [first argmax of z == y];
//            then stats[cur.row, r] = (mean of loss_i, sum of correct_i).
// Bindings:  group(0) 0 logits [batch, replicas, OUT_DIM] (read), 1 labels [n] (read), 2 indices (read),
//            3 dz [batch, replicas, OUT_DIM] (write), 4 stats [rows, REPLICAS, 2] (read_write);
//            group(1) 0 the step record (uniform).
// Uniforms:  cur.start, cur.batch, cur.row.
// Overrides: OUT_DIM (classes), REPLICAS.
// Dispatch:  (1, 1, replicas): one workgroup of 64 per replica; each invocation takes every 64th
//            row, and one barrier joins the 64 partial sums (a single barrier is cheap even on
//            llvmpipe; per-row work is tiny).
// Mirrors:   lib/ops/loss.ts#softmaxCrossEntropy and lib/ops/loss.ts#countCorrect.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override OUT_DIM: u32;
override REPLICAS: u32;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

var<workgroup> part_loss: array<f32, 64>;
var<workgroup> part_correct: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let r = wg.z;
  let inv_batch = 1.0 / f32(cur.batch);
  var loss = 0.0;
  var correct = 0.0;
  for (var i = t; i < cur.batch; i += 64u) {
    let base = (i * REPLICAS + r) * OUT_DIM;
    let y = u32(labels[indices[cur.start + i]]);
    var top = logits[base];
    var arg = 0u;
    for (var j = 1u; j < OUT_DIM; j++) {
      let v = logits[base + j];
      if (v > top) {
        top = v;
        arg = j;
      }
    }
    var sum = 0.0;
    for (var j = 0u; j < OUT_DIM; j++) {
      sum += exp(logits[base + j] - top);
    }
    loss += log(sum) + top - logits[base + y];
    correct += select(0.0, 1.0, arg == y);
    let inv_sum = 1.0 / sum;
    for (var j = 0u; j < OUT_DIM; j++) {
      let p = exp(logits[base + j] - top) * inv_sum;
      dz[base + j] = (p - select(0.0, 1.0, j == y)) * inv_batch;
    }
  }
  part_loss[t] = loss;
  part_correct[t] = correct;
  workgroupBarrier();
  if (t == 0u) {
    var total_loss = 0.0;
    var total_correct = 0.0;
    for (var q = 0u; q < 64u; q++) {
      total_loss += part_loss[q];
      total_correct += part_correct[q];
    }
    let s = (cur.row * REPLICAS + r) * 2u;
    stats[s] = total_loss * inv_batch;
    stats[s + 1u] = total_correct;
  }
}
