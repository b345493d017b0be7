// dense_grad_input: the gradient flowing into a dense layer's input, through the previous layer's
// activation: dz_prev = (dz W^T) * act'(a_prev), for every replica.
//
// Job:       dz_prev[r, i, k] = (sum over j < OUT_DIM of dz[r, i, j] * W[r, k, j]) * act'(a[r, i, k])
//            where a is the previous layer's activation output and act' is written in terms of it:
//            relu: [a > 0], tanh: 1 - a^2, sigmoid: a (1 - a), linear: 1.
// Bindings:  group(0) 0 params [replicas, PARAM_STRIDE] (read), 1 dz [batch, replicas, OUT_DIM]
//            (read), 2 a [batch, replicas, IN_DIM] (read), 3 dz_prev [batch, replicas, IN_DIM]
//            (write); group(1) 0 the step record (uniform).
// Uniforms:  cur.batch.
// Overrides: IN_DIM (width of a and dz_prev), OUT_DIM (width of dz), ACT (0 linear, 1 relu, 2 tanh,
//            3 sigmoid: the hidden activation that produced a), W_OFF, PARAM_STRIDE, REPLICAS,
//            WG_X, WG_Y (WG_X * WG_Y = 64).
// Dispatch:  (ceil(ceil(IN_DIM / 4) / WG_X), ceil(ceil(batch / 4) / WG_Y), replicas); a 4x4 block
//            of dz_prev per invocation, accumulated in registers over OUT_DIM.
// Mirrors:   lib/ops/dense.ts#denseBackpropRef.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override IN_DIM: u32;
override OUT_DIM: u32;
override ACT: u32 = 0u;
override W_OFF: u32;
override PARAM_STRIDE: u32;
override REPLICAS: u32;
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> dz: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz_prev: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

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

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k0 = gid.x * 4u; // input unit
  let row0 = gid.y * 4u; // sample
  let r = gid.z;
  if (k0 >= IN_DIM || row0 >= cur.batch) {
    return;
  }
  let last_k = IN_DIM - 1u;
  let last_row = cur.batch - 1u;
  let w_base = r * PARAM_STRIDE + W_OFF;
  // Rows of W (one per input unit k): W[k, j] = params[w_base + k * OUT_DIM + j].
  let wk = vec4<u32>(
    w_base + k0 * OUT_DIM,
    w_base + min(k0 + 1u, last_k) * OUT_DIM,
    w_base + min(k0 + 2u, last_k) * OUT_DIM,
    w_base + min(k0 + 3u, last_k) * OUT_DIM,
  );
  let dz_base = r * OUT_DIM;
  let dz_row = REPLICAS * OUT_DIM;
  let rd = vec4<u32>(
    dz_base + row0 * dz_row,
    dz_base + min(row0 + 1u, last_row) * dz_row,
    dz_base + min(row0 + 2u, last_row) * dz_row,
    dz_base + min(row0 + 3u, last_row) * dz_row,
  );
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var j = 0u; j < OUT_DIM; j++) {
    let w = vec4<f32>(params[wk.x + j], params[wk.y + j], params[wk.z + j], params[wk.w + j]);
    acc0 += dz[rd.x + j] * w;
    acc1 += dz[rd.y + j] * w;
    acc2 += dz[rd.z + j] * w;
    acc3 += dz[rd.w + j] * w;
  }
  var rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let a_base = r * IN_DIM;
  let a_row = REPLICAS * IN_DIM;
  for (var q = 0u; q < 4u; q++) {
    let i = row0 + q;
    if (i <= last_row) {
      for (var t = 0u; t < 4u; t++) {
        let k = k0 + t;
        if (k <= last_k) {
          let e = a_base + i * a_row + k;
          dz_prev[e] = rows[q][t] * derivative(a[e]);
        }
      }
    }
  }
}
