// dense_grad_weights: the weight gradient of one dense layer, dW = a^T dz, for every replica.
//
// Job:       grads[r, W_OFF + k * OUT_DIM + j] = sum over i < batch of a[r, i, k] * dz[r, i, j].
// Bindings:  group(0) 0 a (read; the layer's input, a[r, i, k] = a[i * IN_ROW + r * IN_REP + k]),
//            1 dz [batch, replicas, OUT_DIM] (read; gradient of the layer's pre-activation),
//            2 grads [replicas, PARAM_STRIDE] (write); group(1) 0 the step record (uniform).
// Uniforms:  cur.batch.
// Overrides: IN_DIM, OUT_DIM, W_OFF, PARAM_STRIDE, IN_ROW and IN_REP (IN_REP = 0 when the input is
//            the shared gathered batch), REPLICAS, WG_X, WG_Y (WG_X * WG_Y = 64).
// Dispatch:  (ceil(ceil(OUT_DIM / 4) / WG_X), ceil(ceil(IN_DIM / 4) / WG_Y), replicas); each
//            invocation accumulates a 4x4 block of dW in registers over the batch (no barriers).
// Mirrors:   the weight part of lib/ops/dense.ts#denseWeightGradRef.

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override IN_DIM: u32;
override OUT_DIM: u32;
override W_OFF: u32;
override PARAM_STRIDE: u32;
override IN_ROW: u32;
override IN_REP: u32;
override REPLICAS: u32;
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> dz: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col0 = gid.x * 4u; // j, output unit
  let k0 = gid.y * 4u; // k, input unit
  let r = gid.z;
  if (col0 >= OUT_DIM || k0 >= IN_DIM) {
    return;
  }
  let last_col = OUT_DIM - 1u;
  let last_k = IN_DIM - 1u;
  let c = vec4<u32>(
    col0,
    min(col0 + 1u, last_col),
    min(col0 + 2u, last_col),
    min(col0 + 3u, last_col),
  );
  let ks = vec4<u32>(k0, min(k0 + 1u, last_k), min(k0 + 2u, last_k), min(k0 + 3u, last_k));
  let a_base = r * IN_REP;
  let dz_base = r * OUT_DIM;
  let dz_row = REPLICAS * OUT_DIM;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var i = 0u; i < cur.batch; i++) {
    let dr = dz_base + i * dz_row;
    let d = vec4<f32>(dz[dr + c.x], dz[dr + c.y], dz[dr + c.z], dz[dr + c.w]);
    let ar = a_base + i * IN_ROW;
    acc0 += a[ar + ks.x] * d;
    acc1 += a[ar + ks.y] * d;
    acc2 += a[ar + ks.z] * d;
    acc3 += a[ar + ks.w] * d;
  }
  var rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let g_base = r * PARAM_STRIDE + W_OFF;
  for (var q = 0u; q < 4u; q++) {
    let k = k0 + q;
    if (k <= last_k) {
      for (var t = 0u; t < 4u; t++) {
        let j = col0 + t;
        if (j <= last_col) {
          grads[g_base + k * OUT_DIM + j] = rows[q][t];
        }
      }
    }
  }
}
