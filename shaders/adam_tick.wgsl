// adam_tick: advance Adam's step counter (used for bias correction) once per step and replica.
//
// Job:       state[r, COUNT_OFF] += 1 for every replica r.
// Bindings:  group(0) 0 state [replicas, STATE_STRIDE] (read_write); group(1) 0 the step record
//            (uniform; unused here, but every pipeline layout has it).
// Uniforms:  none (the step record is bound but not read).
// Overrides: STATE_STRIDE, COUNT_OFF (2 * paramCount), REPLICAS.
// Dispatch:  (ceil(replicas / 64)). A separate dispatch because the adam kernel's invocations all
//            read the counter: one of them advancing it would race with the others.
// Mirrors:   the `t += 1` of lib/optimizers/adam.ts#ADAM.update.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override STATE_STRIDE: u32;
override COUNT_OFF: u32;
override REPLICAS: u32;

@group(0) @binding(0) var<storage, read_write> state: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= REPLICAS) {
    return;
  }
  state[r * STATE_STRIDE + COUNT_OFF] += 1.0;
}
