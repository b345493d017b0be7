// sgd: one SGD step with momentum on every parameter of every replica, in either convention.
//
// Job:       with lr = lrs[cur.step], g = grads[e] + WEIGHT_DECAY * w (L2 decay), m = MOMENTUM:
//              m == 0:             w -= lr * g (both conventions agree; no state is kept)
//              keras (PYTORCH=0):  v = m * v - lr * g; w += v       (Nesterov: w += m * v - lr * g)
//              pytorch (=1):       v = m * v + g;      w -= lr * v  (Nesterov: w -= lr * (g + m * v))
//            with v the new velocity in the Nesterov forms.
// Bindings:  group(0) 0 params [replicas, PARAM_COUNT] (read_write), 1 grads [replicas,
//            PARAM_COUNT] (read), 2 state [replicas, STATE_STRIDE] (read_write; one velocity per
//            parameter, a 1-float placeholder when MOMENTUM is 0), 3 lrs [steps] (read);
//            group(1) 0 the step record (uniform).
// Uniforms:  cur.step (selects the lr).
// Overrides: PARAM_COUNT, STATE_STRIDE, MOMENTUM, NESTEROV (0 or 1), PYTORCH (0 keras, 1 pytorch),
//            WEIGHT_DECAY.
// Dispatch:  one invocation per parameter of every replica, 64 per workgroup, over x and y.
// Mirrors:   lib/optimizers/sgd.ts#SGD.update (see its module docs for the formulas).

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override PARAM_COUNT: u32;
override STATE_STRIDE: u32;
override MOMENTUM: f32;
override NESTEROV: u32 = 0u;
override PYTORCH: u32 = 0u;
override WEIGHT_DECAY: f32 = 0.0;
override REPLICAS: u32;

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read> lrs: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= REPLICAS * PARAM_COUNT) {
    return;
  }
  let lr = lrs[cur.step];
  let w = params[e];
  let g = grads[e] + WEIGHT_DECAY * w;
  if (MOMENTUM == 0.0) {
    params[e] = w - lr * g;
    return;
  }
  let s = (e / PARAM_COUNT) * STATE_STRIDE + e % PARAM_COUNT;
  if (PYTORCH == 1u) {
    let v = MOMENTUM * state[s] + g;
    state[s] = v;
    params[e] = w - lr * select(v, g + MOMENTUM * v, NESTEROV == 1u);
  } else {
    let v = MOMENTUM * state[s] - lr * g;
    state[s] = v;
    params[e] = w + select(v, MOMENTUM * v - lr * g, NESTEROV == 1u);
  }
}
