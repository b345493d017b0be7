// dense_forward: one dense layer, z = a @ W + b followed by the activation, for every replica.
//
// Job:       out[r, i, j] = act(sum_k a[r, i, k] * W[r, k, j] + b[r, j]) for i < batch, j < OUT_DIM.
// Bindings:  group(0) 0 params [replicas, PARAM_STRIDE] (read), 1 a (read), 2 out (write), where
//            a[r, i, k] = a[i * IN_ROW + r * IN_REP + k] and out likewise with OUT_ROW, OUT_REP;
//            group(1) 0 the step record (uniform).
//            Training lays activations out as [batch, replicas, width] so that no stride depends on
//            the batch size (a larger batch needs bigger buffers, not new pipelines); prediction
//            uses [members, rows, width]. The gathered input is shared: IN_REP = 0.
// Uniforms:  cur.batch (rows).
// Overrides: IN_DIM, OUT_DIM, ACT (0 linear, 1 relu, 2 tanh, 3 sigmoid), W_OFF and B_OFF (where
//            this layer's weights [IN_DIM, OUT_DIM] and bias [OUT_DIM] start in one replica's
//            parameters), PARAM_STRIDE (parameters per replica), IN_ROW, IN_REP, OUT_ROW, OUT_REP
//            (strides in floats, see above), WG_X and WG_Y (workgroup shape; WG_X * WG_Y = 64).
// Dispatch:  (ceil(ceil(OUT_DIM / 4) / WG_X), ceil(ceil(batch / 4) / WG_Y), replicas). Each
//            invocation computes a 4x4 block of out in registers: the register blocking that runs
//            fast on llvmpipe, where workgroup barriers are slow (see shared/PLATFORM.md).
// Mirrors:   lib/ops/dense.ts#denseForwardRef (and so `forward` in lib/model/forward.ts).

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
override B_OFF: u32;
override PARAM_STRIDE: u32;
override IN_ROW: u32;
override IN_REP: u32;
override OUT_ROW: u32;
override OUT_REP: u32;
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

fn activate(z: f32) -> f32 {
  switch ACT {
    case 1u: {
      // select, not max: a NaN stays NaN (as in PyTorch and the CPU backend), so divergence shows.
      return select(z, 0.0, z < 0.0);
    }
    case 2u: {
      // Clamped because some drivers evaluate tanh as a ratio of exponentials that turns into
      // inf / inf = NaN for large |z|; tanh(15) already rounds to 1 in f32.
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

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col0 = gid.x * 4u;
  let row0 = gid.y * 4u;
  let r = gid.z;
  if (col0 >= OUT_DIM || row0 >= cur.batch) {
    return;
  }
  // Out-of-range rows and columns read a clamped (valid) address and are never written, which
  // keeps the inner loop free of branches.
  let last_row = cur.batch - 1u;
  let last_col = OUT_DIM - 1u;
  let w_base = r * PARAM_STRIDE + W_OFF;
  let c = vec4<u32>(
    col0,
    min(col0 + 1u, last_col),
    min(col0 + 2u, last_col),
    min(col0 + 3u, last_col),
  );
  let a_base = r * IN_REP;
  let ra = vec4<u32>(
    a_base + row0 * IN_ROW,
    a_base + min(row0 + 1u, last_row) * IN_ROW,
    a_base + min(row0 + 2u, last_row) * IN_ROW,
    a_base + min(row0 + 3u, last_row) * IN_ROW,
  );
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < IN_DIM; k++) {
    let wr = w_base + k * OUT_DIM;
    let w = vec4<f32>(params[wr + c.x], params[wr + c.y], params[wr + c.z], params[wr + c.w]);
    acc0 += a[ra.x + k] * w;
    acc1 += a[ra.y + k] * w;
    acc2 += a[ra.z + k] * w;
    acc3 += a[ra.w + k] * w;
  }
  let b_base = r * PARAM_STRIDE + B_OFF;
  let b = vec4<f32>(params[b_base + c.x], params[b_base + c.y], params[b_base + c.z], params[b_base + c.w]);
  var rows = array<vec4<f32>, 4>(acc0 + b, acc1 + b, acc2 + b, acc3 + b);
  let o_base = r * OUT_REP;
  for (var q = 0u; q < 4u; q++) {
    let i = row0 + q;
    if (i <= last_row) {
      for (var t = 0u; t < 4u; t++) {
        let j = col0 + t;
        if (j <= last_col) {
          out[o_base + i * OUT_ROW + j] = activate(rows[q][t]);
        }
      }
    }
  }
}
