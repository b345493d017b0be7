// gather: copy the rows of one step's batch out of the resident dataset.
//
// Job:       xb[i, k] = x[indices[start + i], k] for i < batch, k < IN_DIM.
// Bindings:  group(0) 0 x [n, IN_DIM] (read), 1 indices [all steps' batches] (read),
//            2 xb [maxBatch, IN_DIM] (write); group(1) 0 the step record (uniform).
// Uniforms:  cur.start (first position of the batch in indices), cur.batch (rows).
// Overrides: IN_DIM (input width).
// Dispatch:  one invocation per element of xb, 64 per workgroup, spread over x and y so that
//            batch * IN_DIM may exceed 65,535 workgroups.
// Mirrors:   lib/ops/gather.ts#gatherRef.

struct Step {
  step: u32, // index of the step in the plan (selects its lr)
  start: u32, // first position of the batch in indices
  batch: u32, // rows in the batch
  row: u32, // row of the statistics buffer this step writes
}

override IN_DIM: u32;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> xb: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= cur.batch * IN_DIM) {
    return;
  }
  let i = e / IN_DIM;
  let k = e % IN_DIM;
  let row = u32(indices[cur.start + i]);
  xb[e] = x[row * IN_DIM + k];
}
