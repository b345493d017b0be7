// softmax: turn logits into probabilities in place, row by row, for every stacked member
// (prediction).
//
// Job:       z[m, i, :] = exp(z - max z) / sum exp(z - max z) for i < batch.
// Bindings:  group(0) 0 z [members, rows, OUT_DIM] with STRIDE floats per member (read_write); group(1) 0 the step record (uniform).
// Uniforms:  cur.batch (rows).
// Overrides: OUT_DIM (classes), STRIDE (floats per member).
// Dispatch:  (ceil(batch / 64), 1, members): one invocation per row.
// Mirrors:   lib/ops/loss.ts#softmaxRows.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override OUT_DIM: u32;
override STRIDE: u32;

@group(0) @binding(0) var<storage, read_write> z: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= cur.batch) {
    return;
  }
  let base = gid.z * STRIDE + i * OUT_DIM;
  var top = z[base];
  for (var j = 1u; j < OUT_DIM; j++) {
    top = max(top, z[base + j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < OUT_DIM; j++) {
    let e = exp(z[base + j] - top);
    z[base + j] = e;
    sum += e;
  }
  let inv_sum = 1.0 / sum;
  for (var j = 0u; j < OUT_DIM; j++) {
    z[base + j] *= inv_sum;
  }
}
