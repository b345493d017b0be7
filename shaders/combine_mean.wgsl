// combine_mean: the weighted mean over stacked members of their outputs (an ensemble's soft vote).
//
// Job:       out[i, j] = sum over m < MEMBERS of weights[m] * p[m, i, j], for i < batch, with the
//            weights already normalised to sum 1 on the host.
// Bindings:  group(0) 0 p [members, rows, OUT_DIM] with STRIDE floats per member (read), 1 weights [MEMBERS] (read), 2 out [batch,
//            OUT_DIM] (write); group(1) 0 the step record (uniform).
// Uniforms:  cur.batch (rows).
// Overrides: OUT_DIM, STRIDE (floats per member in p), MEMBERS.
// Dispatch:  one invocation per element of out, 64 per workgroup, over x and y; members summed in
//            order.
// Mirrors:   lib/ops/combine.ts#combineMeanRef.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override OUT_DIM: u32;
override STRIDE: u32;
override MEMBERS: u32;

@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= cur.batch * OUT_DIM) {
    return;
  }
  var sum = 0.0;
  for (var m = 0u; m < MEMBERS; m++) {
    sum += weights[m] * p[m * STRIDE + e];
  }
  out[e] = sum;
}
