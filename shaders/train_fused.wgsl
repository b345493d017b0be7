// train_fused: many whole training steps of a small network in ONE dispatch, one workgroup per
// replica, with the model, its gradient, the optimizer state and one batch's activations held in
// workgroup memory.
//
// Job:       for each step s = cur.step .. cur.step + cur.batch - 1 of the plan, with
//            (start, batch, reset, lr bits) = plan[s]:
//              if reset != 0: zero the optimizer state (and Adam's step counter);
//              a0 = x[indices[start + b], :] for b < batch                      (gather)
//              a(l+1) = act(a(l) @ W(l) + b(l)), the last layer linear          (dense_forward)
//              softmax head: loss = mean of -log softmax(z)[y], dz = (p - onehot(y)) / batch,
//                correct = [first argmax of z == y]                             (softmax_xent)
//              linear head:  loss = mean of (z - t)^2 over rows and outputs,
//                dz = 2 (z - t) / (batch * OUT)                                 (mse)
//              gW(l) = a(l)^T dz, gb(l) = column sums of dz,
//              dz_prev = (dz W(l)^T) * act'(a(l))                               (dense_grad_*)
//              the optimizer update of every parameter with lr                  (sgd, adam)
//              stats[cur.row + s - cur.step, r] = (loss, correct)
//            then the parameters and the optimizer state go back to their storage buffers.
// Bindings:  group(0) 0 params [replicas, PARAM_COUNT] (read_write), 1 state [replicas,
//            STATE_STRIDE] (read_write; Adam: m, v, then the step counter t), 2 x [n, D0] (read),
//            3 y (read: [n] i32 labels for a softmax head, [n, OUT] f32 targets for a linear head,
//            both read as u32 words), 4 indices (read), 5 plan [steps] of vec4<u32> (start, batch,
//            reset flag, bitcast lr) (read), 6 stats [rows, REPLICAS, 2] (read_write);
//            group(1) 0 the step record (uniform), used here as a chunk record: step = the first
//            plan step of this dispatch, batch = the number of steps, row = the stats row of the
//            first step (start is unused).
// Uniforms:  cur.step (first plan step of this dispatch), cur.batch (steps it runs), cur.row
//            (stats row of its first step); the per-step start, batch, reset and lr come from plan.
// Overrides: WG (invocations, at most 256 for SwiftShader), LAYERS (1..4), D0..D4 (layer widths;
//            unused ones 1), W_OFF1..W_OFF4 (where layer l's weights start in one replica's
//            parameters; W_OFF(LAYERS) = PARAM_COUNT), ACT (hidden activation: 0 linear, 1 relu,
//            2 tanh, 3 sigmoid), HEAD (0 softmax, 1 linear), PARAM_COUNT, STATE_STRIDE, OPT (0 SGD,
//            1 Adam), MOMENTUM, NESTEROV, PYTORCH, WEIGHT_DECAY, BETA1, BETA2, LOG_BETA1, LOG_BETA2,
//            EPSILON, DECOUPLED (as in sgd.wgsl and adam.wgsl), and the workgroup-memory layout in
//            floats: MEM (total), GRAD_OFF, STATE_OFF, A_OFF0..A_OFF4 (a(l) as [batch, D(l)]),
//            DA_OFF and DB_OFF (two delta buffers), LOSS_OFF (per-row loss, then per-row correct,
//            BATCH_CAP each), BATCH_CAP (largest batch the layout holds).
// Dispatch:  (replicas, 1, 1), several times per plan: the host splits the steps so that no
//            invocation runs more loop iterations than llvmpipe allows (it silently stops loops
//            after 65,535 iterations per invocation; lib/backend/webgpu/_loop_budget.ts counts them). Each
//            phase of a step is a strided loop over its outputs followed by one workgroup barrier.
// Mirrors:   one step of the per-kernel path (the kernels named above), hence
//            lib/backend/cpu/_workspace.ts#lossAndGradient and lib/optimizers/mod.ts#applyUpdate.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override WG: u32 = 64u;
override LAYERS: u32;
override D0: u32;
override D1: u32;
override D2: u32 = 1u;
override D3: u32 = 1u;
override D4: u32 = 1u;
override W_OFF1: u32;
override W_OFF2: u32 = 0u;
override W_OFF3: u32 = 0u;
override W_OFF4: u32 = 0u;
override ACT: u32 = 0u;
override HEAD: u32 = 0u;
override PARAM_COUNT: u32;
override STATE_STRIDE: u32;
override REPLICAS: u32;
override OPT: u32 = 0u;
override MOMENTUM: f32 = 0.0;
override NESTEROV: u32 = 0u;
override PYTORCH: u32 = 0u;
override WEIGHT_DECAY: f32 = 0.0;
override BETA1: f32 = 0.9;
override BETA2: f32 = 0.999;
override LOG_BETA1: f32 = -0.105360516;
override LOG_BETA2: f32 = -0.0010005003;
override EPSILON: f32 = 1e-8;
override DECOUPLED: u32 = 0u;
override MEM: u32;
override GRAD_OFF: u32;
override STATE_OFF: u32;
override A_OFF0: u32;
override A_OFF1: u32;
override A_OFF2: u32 = 0u;
override A_OFF3: u32 = 0u;
override A_OFF4: u32 = 0u;
override DA_OFF: u32;
override DB_OFF: u32;
override LOSS_OFF: u32;
override BATCH_CAP: u32;

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read_write> state: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<u32>;
@group(0) @binding(4) var<storage, read> indices: array<u32>;
@group(0) @binding(5) var<storage, read> plan: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

var<workgroup> mem: array<f32, MEM>;

fn dim(l: u32) -> u32 {
  switch l {
    case 0u: {
      return D0;
    }
    case 1u: {
      return D1;
    }
    case 2u: {
      return D2;
    }
    case 3u: {
      return D3;
    }
    default: {
      return D4;
    }
  }
}

// Where layer l's weights start in the parameters (its bias follows them).
fn w_off(l: u32) -> u32 {
  switch l {
    case 0u: {
      return 0u;
    }
    case 1u: {
      return W_OFF1;
    }
    case 2u: {
      return W_OFF2;
    }
    case 3u: {
      return W_OFF3;
    }
    default: {
      return W_OFF4;
    }
  }
}

// Where the activations a(l) [batch, D(l)] live in workgroup memory (a(0) is the gathered batch).
fn a_off(l: u32) -> u32 {
  switch l {
    case 0u: {
      return A_OFF0;
    }
    case 1u: {
      return A_OFF1;
    }
    case 2u: {
      return A_OFF2;
    }
    case 3u: {
      return A_OFF3;
    }
    default: {
      return A_OFF4;
    }
  }
}

fn state_floats() -> u32 {
  if (OPT == 1u) {
    return 2u * PARAM_COUNT;
  }
  return select(PARAM_COUNT, 0u, MOMENTUM == 0.0);
}

// As in dense_forward.wgsl, so both paths give the same bits.
fn activate(z: f32, act: u32) -> f32 {
  switch act {
    case 1u: {
      return select(z, 0.0, z < 0.0);
    }
    case 2u: {
      return tanh(clamp(z, -15.0, 15.0));
    }
    case 3u: {
      return 1.0 / (1.0 + exp(-z));
    }
    default: {
      return z;
    }
  }
}

// act' written in terms of the activation's output, as in dense_grad_input.wgsl.
fn derivative(a_out: f32) -> f32 {
  switch ACT {
    case 1u: {
      return select(0.0, 1.0, a_out > 0.0);
    }
    case 2u: {
      return 1.0 - a_out * a_out;
    }
    case 3u: {
      return a_out * (1.0 - a_out);
    }
    default: {
      return 1.0;
    }
  }
}

// 1 - beta^t = -expm1(t ln beta), as in adam.wgsl.
fn one_minus_pow(log_beta: f32, t: f32) -> f32 {
  let v = t * log_beta;
  if (v < -0.5) {
    return 1.0 - exp(v);
  }
  let p = 1.0 + v / 2.0 * (1.0 + v / 3.0 * (1.0 + v / 4.0 * (1.0 + v / 5.0 * (1.0 + v / 6.0 *
    (1.0 + v / 7.0 * (1.0 + v / 8.0))))));
  return -v * p;
}

// a(0) = the rows of x that step s's batch names.
fn gather(t: u32, s: u32) {
  let rec = plan[s];
  for (var k = t; k < rec.y * D0; k += WG) {
    let b = k / D0;
    let i = k - b * D0;
    mem[A_OFF0 + k] = x[indices[rec.x + b] * D0 + i];
  }
}

// The optimizer update of the parameters [lo, hi) from the gradient in workgroup memory.
fn update(t: u32, lo: u32, hi: u32, lr: f32, tick: f32) {
  if (OPT == 1u) {
    let step_size = lr / one_minus_pow(LOG_BETA1, tick);
    let correction2 = sqrt(one_minus_pow(LOG_BETA2, tick));
    for (var k = lo + t; k < hi; k += WG) {
      var w = mem[k];
      var g = mem[GRAD_OFF + k];
      if (DECOUPLED == 1u) {
        w -= lr * WEIGHT_DECAY * w;
      } else {
        g += WEIGHT_DECAY * w;
      }
      let m = BETA1 * mem[STATE_OFF + k] + (1.0 - BETA1) * g;
      let v = BETA2 * mem[STATE_OFF + PARAM_COUNT + k] + (1.0 - BETA2) * g * g;
      mem[STATE_OFF + k] = m;
      mem[STATE_OFF + PARAM_COUNT + k] = v;
      mem[k] = w - step_size * m / (sqrt(v) / correction2 + EPSILON);
    }
    return;
  }
  for (var k = lo + t; k < hi; k += WG) {
    let w = mem[k];
    let g = mem[GRAD_OFF + k] + WEIGHT_DECAY * w;
    if (MOMENTUM == 0.0) {
      mem[k] = w - lr * g;
    } else if (PYTORCH == 1u) {
      let v = MOMENTUM * mem[STATE_OFF + k] + g;
      mem[STATE_OFF + k] = v;
      mem[k] = w - lr * select(v, g + MOMENTUM * v, NESTEROV == 1u);
    } else {
      let v = MOMENTUM * mem[STATE_OFF + k] - lr * g;
      mem[STATE_OFF + k] = v;
      mem[k] = w + select(v, MOMENTUM * v - lr * g, NESTEROV == 1u);
    }
  }
}

// The loss head over the batch's rows: dz into DA, per-row loss and correct into LOSS_OFF.
fn loss_head(t: u32, start: u32, batch: u32) {
  let out_dim = dim(LAYERS);
  let z_off = a_off(LAYERS);
  if (HEAD == 0u) {
    let inv_batch = 1.0 / f32(batch);
    for (var b = t; b < batch; b += WG) {
      let base = b * out_dim;
      let label = y[indices[start + b]];
      var top = mem[z_off + base];
      var arg = 0u;
      for (var j = 1u; j < out_dim; j++) {
        let v = mem[z_off + base + j];
        if (v > top) {
          top = v;
          arg = j;
        }
      }
      var sum = 0.0;
      for (var j = 0u; j < out_dim; j++) {
        sum += exp(mem[z_off + base + j] - top);
      }
      mem[LOSS_OFF + b] = log(sum) + top - mem[z_off + base + label];
      mem[LOSS_OFF + BATCH_CAP + b] = select(0.0, 1.0, arg == label);
      let inv_sum = 1.0 / sum;
      for (var j = 0u; j < out_dim; j++) {
        let p = exp(mem[z_off + base + j] - top) * inv_sum;
        mem[DA_OFF + base + j] = (p - select(0.0, 1.0, j == label)) * inv_batch;
      }
    }
  } else {
    let inv_count = 1.0 / f32(batch * out_dim);
    for (var b = t; b < batch; b += WG) {
      let base = b * out_dim;
      let target_base = indices[start + b] * out_dim;
      var total = 0.0;
      for (var j = 0u; j < out_dim; j++) {
        let d = mem[z_off + base + j] - bitcast<f32>(y[target_base + j]);
        total += d * d;
        mem[DA_OFF + base + j] = 2.0 * d * inv_count;
      }
      mem[LOSS_OFF + b] = total;
      mem[LOSS_OFF + BATCH_CAP + b] = 0.0;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let r = wg.x;
  let p_base = r * PARAM_COUNT;
  let s_base = r * STATE_STRIDE;
  let kept = state_floats();
  for (var k = t; k < PARAM_COUNT; k += WG) {
    mem[k] = params[p_base + k];
  }
  for (var k = t; k < kept; k += WG) {
    mem[STATE_OFF + k] = state[s_base + k];
  }
  // Adam's step counter: every invocation keeps its own copy (they all agree), so reading it
  // needs no barrier; invocation 0 writes it back at the end.
  var tick = 0.0;
  if (OPT == 1u) {
    tick = state[s_base + 2u * PARAM_COUNT];
  }
  gather(t, cur.step);
  workgroupBarrier();

  for (var q = 0u; q < cur.batch; q++) {
    let s = cur.step + q;
    let rec = plan[s];
    let start = rec.x;
    let batch = rec.y;
    let lr = bitcast<f32>(rec.w);
    // The state is next touched by this step's updates, after the barriers below.
    if (rec.z != 0u) {
      for (var k = t; k < kept; k += WG) {
        mem[STATE_OFF + k] = 0.0;
      }
      tick = 0.0;
    }
    tick += 1.0;

    // Forward, one layer per phase.
    for (var l = 0u; l < LAYERS; l++) {
      let in_dim = dim(l);
      let out_dim = dim(l + 1u);
      let a_in = a_off(l);
      let a_out = a_off(l + 1u);
      let w = w_off(l);
      let bias = w + in_dim * out_dim;
      let act = select(0u, ACT, l + 1u < LAYERS);
      for (var k = t; k < batch * out_dim; k += WG) {
        let b = k / out_dim;
        let o = k - b * out_dim;
        var z = mem[bias + o];
        for (var i = 0u; i < in_dim; i++) {
          z += mem[a_in + b * in_dim + i] * mem[w + i * out_dim + o];
        }
        mem[a_out + k] = activate(z, act);
      }
      workgroupBarrier();
    }

    loss_head(t, start, batch);
    workgroupBarrier();

    // Backward, one layer per phase: layer l's gradient and the delta below it; the update of
    // layer l + 1, whose weights this phase no longer reads, rides along.
    var d_cur = DA_OFF;
    var d_prev = DB_OFF;
    for (var j = 0u; j < LAYERS; j++) {
      let l = LAYERS - 1u - j;
      let in_dim = dim(l);
      let out_dim = dim(l + 1u);
      let a_in = a_off(l);
      let w = w_off(l);
      // Weights then bias are contiguous: element k of the layer is (row i, column o) with row
      // in_dim standing for the bias (an input of constant 1).
      for (var k = t; k < (in_dim + 1u) * out_dim; k += WG) {
        let i = k / out_dim;
        let o = k - i * out_dim;
        var g = 0.0;
        if (i < in_dim) {
          for (var b = 0u; b < batch; b++) {
            g += mem[a_in + b * in_dim + i] * mem[d_cur + b * out_dim + o];
          }
        } else {
          for (var b = 0u; b < batch; b++) {
            g += mem[d_cur + b * out_dim + o];
          }
        }
        mem[GRAD_OFF + w + k] = g;
      }
      if (l > 0u) {
        for (var k = t; k < batch * in_dim; k += WG) {
          let b = k / in_dim;
          let i = k - b * in_dim;
          var g = 0.0;
          for (var o = 0u; o < out_dim; o++) {
            g += mem[d_cur + b * out_dim + o] * mem[w + i * out_dim + o];
          }
          mem[d_prev + k] = g * derivative(mem[a_in + k]);
        }
      }
      if (j > 0u) {
        update(t, w_off(l + 1u), w_off(l + 2u), lr, tick);
      } else if (t == 0u) {
        var total = 0.0;
        var right = 0.0;
        for (var b = 0u; b < batch; b++) {
          total += mem[LOSS_OFF + b];
          right += mem[LOSS_OFF + BATCH_CAP + b];
        }
        let scale = select(1.0 / f32(batch * dim(LAYERS)), 1.0 / f32(batch), HEAD == 0u);
        let at = ((cur.row + q) * REPLICAS + r) * 2u;
        stats[at] = total * scale;
        stats[at + 1u] = right;
      }
      workgroupBarrier();
      let swap = d_cur;
      d_cur = d_prev;
      d_prev = swap;
    }

    // The first layer's update, and the next step's batch (a(0) is no longer read).
    update(t, 0u, w_off(1u), lr, tick);
    if (q + 1u < cur.batch) {
      gather(t, s + 1u);
    }
    workgroupBarrier();
  }

  for (var k = t; k < PARAM_COUNT; k += WG) {
    params[p_base + k] = mem[k];
  }
  for (var k = t; k < kept; k += WG) {
    state[s_base + k] = mem[STATE_OFF + k];
  }
  if (OPT == 1u && t == 0u) {
    state[s_base + 2u * PARAM_COUNT] = tick;
  }
}
