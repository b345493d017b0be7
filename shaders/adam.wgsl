// adam: one Adam (or AdamW) step on every parameter of every replica.
//
// Job:       with lr = lrs[cur.step], t = state[r, 2 * PARAM_COUNT] (already advanced for this step
//            by adam_tick), g = grads[e]:
//              Adam:  g += WEIGHT_DECAY * w                  (L2 decay through the gradient)
//              AdamW: w -= lr * WEIGHT_DECAY * w             (decoupled, before the update, as
//                                                            PyTorch's AdamW does)
//              m = BETA1 m + (1 - BETA1) g;  v = BETA2 v + (1 - BETA2) g^2
//              w -= (lr / (1 - BETA1^t)) * m / (sqrt(v) / sqrt(1 - BETA2^t) + EPSILON)
//            (PyTorch's arrangement). 1 - beta^t is computed as -expm1(t ln beta): in f32,
//            1 - pow(0.999, 10) loses about 5 digits to cancellation, enough to miss PyTorch's
//            weights by more than 1e-5 after a few steps.
// Bindings:  group(0) 0 params [replicas, PARAM_COUNT] (read_write), 1 grads (read), 2 state
//            [replicas, STATE_STRIDE] = m [PARAM_COUNT], v [PARAM_COUNT], t [1] per replica
//            (read_write), 3 lrs [steps] (read); group(1) 0 the step record (uniform).
// Uniforms:  cur.step.
// Overrides: PARAM_COUNT, STATE_STRIDE (2 * PARAM_COUNT + 1), REPLICAS, BETA1, BETA2, LOG_BETA1
//            and LOG_BETA2 (ln of each beta, from the host in float64; a large negative number for
//            a beta of 0), EPSILON, WEIGHT_DECAY, DECOUPLED (0 Adam, 1 AdamW).
// Dispatch:  one invocation per parameter of every replica, 64 per workgroup, over x and y.
// Mirrors:   lib/optimizers/adam.ts#ADAM.update (Kingma and Ba 2015; Loshchilov and
//            Hutter 2019 for the decoupled decay).

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override PARAM_COUNT: u32;
override STATE_STRIDE: u32;
override REPLICAS: u32;
override BETA1: f32;
override BETA2: f32;
override LOG_BETA1: f32;
override LOG_BETA2: f32;
override EPSILON: f32;
override WEIGHT_DECAY: f32 = 0.0;
override DECOUPLED: u32 = 0u;

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read> lrs: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

// 1 - beta^t = -expm1(t ln beta), accurate where beta^t is close to 1: a Taylor polynomial for
// |x| < 0.5 (truncation below 6e-9 relative), the plain form beyond, where nothing cancels.
fn one_minus_pow(log_beta: f32, t: f32) -> f32 {
  let x = t * log_beta;
  if (x < -0.5) {
    return 1.0 - exp(x);
  }
  let p = 1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0 * (1.0 + x / 6.0 *
    (1.0 + x / 7.0 * (1.0 + x / 8.0))))));
  return -x * p;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= REPLICAS * PARAM_COUNT) {
    return;
  }
  let lr = lrs[cur.step];
  let r = e / PARAM_COUNT;
  let p = e % PARAM_COUNT;
  let base = r * STATE_STRIDE;
  let t = state[base + 2u * PARAM_COUNT];
  var w = params[e];
  var g = grads[e];
  if (DECOUPLED == 1u) {
    w -= lr * WEIGHT_DECAY * w;
  } else {
    g += WEIGHT_DECAY * w;
  }
  let m = BETA1 * state[base + p] + (1.0 - BETA1) * g;
  let v = BETA2 * state[base + PARAM_COUNT + p] + (1.0 - BETA2) * g * g;
  state[base + p] = m;
  state[base + PARAM_COUNT + p] = v;
  let step_size = lr / one_minus_pow(LOG_BETA1, t);
  let correction2 = sqrt(one_minus_pow(LOG_BETA2, t));
  params[e] = w - step_size * m / (sqrt(v) / correction2 + EPSILON);
}
