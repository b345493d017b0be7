// optimizer_reset: zero the optimizer state of every replica (a restart, StepPlan.resets).
//
// Job:       state[e] = 0 for e < TOTAL.
// Bindings:  group(0) 0 state [replicas, stateSize] (read_write); group(1) 0 the step record
//            (uniform; unused here, but every pipeline layout has it).
// Uniforms:  none (the step record is bound but not read).
// Overrides: TOTAL (replicas * stateSize).
// Dispatch:  one invocation per float, 64 per workgroup, over x and y; encoded only before the
//            steps whose reset flag is set.
// Mirrors:   lib/ops/optimizer_reset.ts#optimizerResetRef.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override TOTAL: u32;

@group(0) @binding(0) var<storage, read_write> state: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= TOTAL) {
    return;
  }
  state[e] = 0.0;
}
