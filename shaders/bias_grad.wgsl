// bias_grad: the bias gradient of one dense layer, a column sum of dz, for every replica.
//
// Job:       grads[r, B_OFF + j] = sum over i < batch of dz[r, i, j].
// Bindings:  group(0) 0 dz [batch, replicas, OUT_DIM] (read), 1 grads [replicas, PARAM_STRIDE] (write);
//            group(1) 0 the step record (uniform).
// Uniforms:  cur.batch.
// Overrides: OUT_DIM, B_OFF, PARAM_STRIDE, REPLICAS.
// Dispatch:  (ceil(OUT_DIM / 64), 1, replicas): one invocation per output unit, looping over the
//            batch in row order (the order the CPU sums in).
// Mirrors:   the bias part of lib/ops/dense.ts#denseWeightGradRef.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override OUT_DIM: u32;
override B_OFF: u32;
override PARAM_STRIDE: u32;
override REPLICAS: u32;

@group(0) @binding(0) var<storage, read> dz: array<f32>;
@group(0) @binding(1) var<storage, read_write> grads: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let r = gid.z;
  if (j >= OUT_DIM) {
    return;
  }
  let dz_base = r * OUT_DIM + j;
  let dz_row = REPLICAS * OUT_DIM;
  var sum = 0.0;
  for (var i = 0u; i < cur.batch; i++) {
    sum += dz[dz_base + i * dz_row];
  }
  grads[r * PARAM_STRIDE + B_OFF + j] = sum;
}
