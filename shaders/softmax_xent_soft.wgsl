// softmax_xent_soft: the softmax cross-entropy head against soft targets (probability vectors) at
// a temperature, for knowledge distillation (Hinton et al. 2015): loss, gradient and the step's
// statistics in one pass over the logits.
//
// Job:       for each replica r and row i < batch, with targets q = targets[indices[start + i], :]
//            and T = TEMPERATURE:
//              u = z[r, i, :] / T;  p = softmax(u) computed as exp(u - max u) / sum;
//              loss_i = -T^2 sum_j q_j (u_j - max u - log sum)     (= T^2 H(q, p), stable);
//              dz[r, i, j] = T (p_j sum_k q_k - q_j) / batch        (gradient of the batch mean);
//              correct_i = [first argmax of z == first argmax of q];
//            then stats[cur.row, r] = (mean of loss_i, sum of correct_i).
// Bindings:  group(0) 0 logits [batch, replicas, OUT_DIM] (read), 1 targets [n, OUT_DIM] (read),
//            2 indices (read), 3 dz [batch, replicas, OUT_DIM] (write),
//            4 stats [rows, REPLICAS, 2] (read_write); group(1) 0 the step record (uniform).
// Uniforms:  cur.start, cur.batch, cur.row.
// Overrides: OUT_DIM (classes), REPLICAS, TEMPERATURE (> 0).
// Dispatch:  (1, 1, replicas): one workgroup of 64 per replica; each invocation takes every 64th
//            row, and one barrier joins the 64 partial sums (the loops per row are those of
//            softmax_xent: argmax, sum, gradient).
// Mirrors:   lib/ops/softmax_xent_soft.ts#softmaxXentSoftRef (the CPU backend runs
//            softmaxXentSoftRows of the same file).

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override OUT_DIM: u32;
override REPLICAS: u32;
override TEMPERATURE: f32;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<f32>;
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
  let inv_t = 1.0 / TEMPERATURE;
  var loss = 0.0;
  var correct = 0.0;
  for (var i = t; i < cur.batch; i += 64u) {
    let base = (i * REPLICAS + r) * OUT_DIM;
    let src = u32(indices[cur.start + i]) * OUT_DIM;
    var z_arg = 0u;
    var q_arg = 0u;
    for (var j = 1u; j < OUT_DIM; j++) {
      if (logits[base + j] > logits[base + z_arg]) {
        z_arg = j;
      }
      if (targets[src + j] > targets[src + q_arg]) {
        q_arg = j;
      }
    }
    let top = logits[base + z_arg] * inv_t;
    var sum = 0.0;
    var mass = 0.0;
    for (var j = 0u; j < OUT_DIM; j++) {
      sum += exp(logits[base + j] * inv_t - top);
      mass += targets[src + j];
    }
    let log_sum = log(sum);
    let inv_sum = mass / sum;
    var cross = 0.0;
    for (var j = 0u; j < OUT_DIM; j++) {
      let u = logits[base + j] * inv_t - top;
      let q = targets[src + j];
      cross -= q * (u - log_sum);
      dz[base + j] = TEMPERATURE * (exp(u) * inv_sum - q) * inv_batch;
    }
    loss += TEMPERATURE * TEMPERATURE * cross;
    correct += select(0.0, 1.0, z_arg == q_arg);
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
