// mse: the mean-squared-error head of a training step (linear output): loss, gradient and the
// step's statistics in one pass.
//
// Job:       for each replica r, row i < batch and output j, with t = targets[indices[start + i], j]:
//              loss = sum over i, j of (out[r, i, j] - t)^2 / (batch * OUT_DIM)   (mean over both);
//              dz[r, i, j] = 2 * (out[r, i, j] - t) / (batch * OUT_DIM);
//            then stats[cur.row, r] = (loss, 0) (no accuracy for regression).
// Bindings:  group(0) 0 out [batch, replicas, OUT_DIM] (read), 1 targets [n, OUT_DIM] (read), 2 indices
//            (read), 3 dz [batch, replicas, OUT_DIM] (write), 4 stats [rows, REPLICAS, 2] (read_write);
//            group(1) 0 the step record (uniform).
// Uniforms:  cur.start, cur.batch, cur.row.
// Overrides: OUT_DIM, REPLICAS.
// Dispatch:  (1, 1, replicas): one workgroup of 64 per replica, one barrier to join partial sums.
// Mirrors:   lib/ops/loss.ts#meanSquaredError as the CPU backend runs it.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override OUT_DIM: u32;
override REPLICAS: u32;

@group(0) @binding(0) var<storage, read> out: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

var<workgroup> part_loss: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let r = wg.z;
  let inv_count = 1.0 / f32(cur.batch * OUT_DIM);
  var loss = 0.0;
  for (var i = t; i < cur.batch; i += 64u) {
    let base = (i * REPLICAS + r) * OUT_DIM;
    let target_base = u32(indices[cur.start + i]) * OUT_DIM;
    for (var j = 0u; j < OUT_DIM; j++) {
      let d = out[base + j] - targets[target_base + j];
      loss += d * d;
      dz[base + j] = 2.0 * d * inv_count;
    }
  }
  part_loss[t] = loss;
  workgroupBarrier();
  if (t == 0u) {
    var total = 0.0;
    for (var q = 0u; q < 64u; q++) {
      total += part_loss[q];
    }
    let s = (cur.row * REPLICAS + r) * 2u;
    stats[s] = total * inv_count;
    stats[s + 1u] = 0.0;
  }
}
