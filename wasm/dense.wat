;; dense.wat: dense-layer products in WebAssembly SIMD, the twins of forwardDense, weightGradDense,
;; backpropDense and biasGrad in lib/backend/_cpu_kernels.ts (tests/wasm_kernels_test.ts checks them
;; against plain loops on a sweep of shapes).
;;
;; Memory: imported as env.memory; every pointer is a byte address, every matrix row-major f32.
;; Activation codes are the WGSL `ACT` space: 0 linear, 1 relu, 2 tanh, 3 sigmoid. ReLU is applied in
;; the tiles' stores; tanh and sigmoid in one pass afterwards through the host's Math.tanh and
;; Math.exp (imported as math.tanh, math.exp), so they round as the CPU backend's do.
;;
;; One register-tiled micro-kernel serves the three products: a tile C[4, 8] (eight f32x4
;; accumulators) is the sum over `steps` of A(j, t) * B(t, 0..8), where A(j, t) sits at
;; pa + j * sj + t * ss and the row B(t, .) at pw + t * ws. Choosing the strides makes it
;;   forward:         out = act(x[rows, k] @ W[k, n] + b)          (A = x, B = W)
;;   weight gradient: gW = x[rows, m]^T @ delta[rows, n]            (A = x^T, B = delta)
;;   input gradient:  prev = (delta[rows, n] @ W[k, n]^T) * f'(a)  (A = delta, B = W^T, transposed
;;                    once per call into scratch so that its rows load as vectors)
;; Leftover rows take 1 x 8 tiles, leftover columns 4-wide tiles that store only the 1-4 lanes
;; that exist, so any shape is exact. Each A(j, t) is one v128.load32_splat; the multiply-add is written as
;; f32x4.relaxed_madd, which tools/embed_wasm.ts rewrites to f32x4.mul + f32x4.add for the plain-SIMD
;; variant (relaxed SIMD may fuse it: results differ from the plain loops in the last bits).
(module
  (import "env" "memory" (memory 1))
  (import "math" "tanh" (func $tanh (param f64) (result f64)))
  (import "math" "exp" (func $exp (param f64) (result f64)))

  ;; Stores v at p, zeroing negative lanes when relu != 0 (NaN and -0 pass, as reluOf keeps them).
  (func $put (param $p i32) (param $v v128) (param $relu i32)
    (if (local.get $relu)
      (then
        (local.set $v
          (v128.andnot (local.get $v) (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))))
    (v128.store (local.get $p) (local.get $v)))

  ;; Stores the first `lanes` (1-4) lanes of v at p, with ReLU as $put.
  (func $put_lanes (param $p i32) (param $v v128) (param $relu i32) (param $lanes i32)
    (if (local.get $relu)
      (then
        (local.set $v
          (v128.andnot (local.get $v) (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))))
    (if (i32.ge_u (local.get $lanes) (i32.const 4))
      (then (v128.store (local.get $p) (local.get $v)) (return)))
    (v128.store32_lane 0 (local.get $p) (local.get $v))
    (if (i32.ge_u (local.get $lanes) (i32.const 2))
      (then (v128.store32_lane offset=4 1 (local.get $p) (local.get $v))))
    (if (i32.ge_u (local.get $lanes) (i32.const 3))
      (then (v128.store32_lane offset=8 2 (local.get $p) (local.get $v)))))

  ;; The bias vector at pb (zeros when pb == 0: address 0 is read and discarded).
  (func $bias (param $pb i32) (result v128)
    (select (result v128)
      (v128.load (local.get $pb)) (v128.const i32x4 0 0 0 0) (local.get $pb)))

  ;; pb + off, or 0 when there is no bias.
  (func $at (param $pb i32) (param $off i32) (result i32)
    (select (i32.add (local.get $pb) (local.get $off)) (i32.const 0) (local.get $pb)))

  ;; C[4, 8] at po (row stride os): see the module comment.
  (func $tile4x8
    (param $pa i32) (param $sj i32) (param $ss i32) (param $steps i32)
    (param $pw i32) (param $ws i32) (param $po i32) (param $os i32) (param $pb i32) (param $relu i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $w0 v128) (local $w1 v128) (local $x v128)
    (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local.set $c00 (call $bias (local.get $pb)))
    (local.set $c01 (call $bias (call $at (local.get $pb) (i32.const 16))))
    (local.set $c10 (local.get $c00)) (local.set $c11 (local.get $c01))
    (local.set $c20 (local.get $c00)) (local.set $c21 (local.get $c01))
    (local.set $c30 (local.get $c00)) (local.set $c31 (local.get $c01))
    (local.set $a1 (i32.add (local.get $pa) (local.get $sj)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $sj)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $sj)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $steps)))
        (local.set $w0 (v128.load (local.get $pw)))
        (local.set $w1 (v128.load offset=16 (local.get $pw)))
        (local.set $x (v128.load32_splat (local.get $pa)))
        (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $w0) (local.get $c00)))
        (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $w1) (local.get $c01)))
        (local.set $x (v128.load32_splat (local.get $a1)))
        (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $w0) (local.get $c10)))
        (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $w1) (local.get $c11)))
        (local.set $x (v128.load32_splat (local.get $a2)))
        (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $w0) (local.get $c20)))
        (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $w1) (local.get $c21)))
        (local.set $x (v128.load32_splat (local.get $a3)))
        (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $w0) (local.get $c30)))
        (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $w1) (local.get $c31)))
        (local.set $pa (i32.add (local.get $pa) (local.get $ss)))
        (local.set $a1 (i32.add (local.get $a1) (local.get $ss)))
        (local.set $a2 (i32.add (local.get $a2) (local.get $ss)))
        (local.set $a3 (i32.add (local.get $a3) (local.get $ss)))
        (local.set $pw (i32.add (local.get $pw) (local.get $ws)))
        (local.set $steps (i32.sub (local.get $steps) (i32.const 1)))
        (br $next)))
    (call $put (local.get $po) (local.get $c00) (local.get $relu))
    (call $put (i32.add (local.get $po) (i32.const 16)) (local.get $c01) (local.get $relu))
    (local.set $po (i32.add (local.get $po) (local.get $os)))
    (call $put (local.get $po) (local.get $c10) (local.get $relu))
    (call $put (i32.add (local.get $po) (i32.const 16)) (local.get $c11) (local.get $relu))
    (local.set $po (i32.add (local.get $po) (local.get $os)))
    (call $put (local.get $po) (local.get $c20) (local.get $relu))
    (call $put (i32.add (local.get $po) (i32.const 16)) (local.get $c21) (local.get $relu))
    (local.set $po (i32.add (local.get $po) (local.get $os)))
    (call $put (local.get $po) (local.get $c30) (local.get $relu))
    (call $put (i32.add (local.get $po) (i32.const 16)) (local.get $c31) (local.get $relu)))

  ;; C[1, 8]: one leftover row.
  (func $tile1x8
    (param $pa i32) (param $ss i32) (param $steps i32)
    (param $pw i32) (param $ws i32) (param $po i32) (param $pb i32) (param $relu i32)
    (local $c0 v128) (local $c1 v128) (local $x v128)
    (local.set $c0 (call $bias (local.get $pb)))
    (local.set $c1 (call $bias (call $at (local.get $pb) (i32.const 16))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $steps)))
        (local.set $x (v128.load32_splat (local.get $pa)))
        (local.set $c0
          (f32x4.relaxed_madd (local.get $x) (v128.load (local.get $pw)) (local.get $c0)))
        (local.set $c1
          (f32x4.relaxed_madd (local.get $x) (v128.load offset=16 (local.get $pw)) (local.get $c1)))
        (local.set $pa (i32.add (local.get $pa) (local.get $ss)))
        (local.set $pw (i32.add (local.get $pw) (local.get $ws)))
        (local.set $steps (i32.sub (local.get $steps) (i32.const 1)))
        (br $next)))
    (call $put (local.get $po) (local.get $c0) (local.get $relu))
    (call $put (i32.add (local.get $po) (i32.const 16)) (local.get $c1) (local.get $relu)))

  ;; C[4, lanes]: the 1-4 leftover columns. B's rows (and the bias) are read four wide, past the
  ;; matrix where fewer than four columns are left: those lanes are computed and never stored
  ;; (the heap keeps slack after its last buffer, so such a read stays inside the memory).
  (func $tile4x4
    (param $pa i32) (param $sj i32) (param $ss i32) (param $steps i32)
    (param $pw i32) (param $ws i32) (param $po i32) (param $os i32) (param $pb i32) (param $relu i32)
    (param $lanes i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $w v128)
    (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local.set $c0 (call $bias (local.get $pb)))
    (local.set $c1 (local.get $c0)) (local.set $c2 (local.get $c0)) (local.set $c3 (local.get $c0))
    (local.set $a1 (i32.add (local.get $pa) (local.get $sj)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $sj)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $sj)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $steps)))
        (local.set $w (v128.load (local.get $pw)))
        (local.set $c0
          (f32x4.relaxed_madd (v128.load32_splat (local.get $pa)) (local.get $w) (local.get $c0)))
        (local.set $c1
          (f32x4.relaxed_madd (v128.load32_splat (local.get $a1)) (local.get $w) (local.get $c1)))
        (local.set $c2
          (f32x4.relaxed_madd (v128.load32_splat (local.get $a2)) (local.get $w) (local.get $c2)))
        (local.set $c3
          (f32x4.relaxed_madd (v128.load32_splat (local.get $a3)) (local.get $w) (local.get $c3)))
        (local.set $pa (i32.add (local.get $pa) (local.get $ss)))
        (local.set $a1 (i32.add (local.get $a1) (local.get $ss)))
        (local.set $a2 (i32.add (local.get $a2) (local.get $ss)))
        (local.set $a3 (i32.add (local.get $a3) (local.get $ss)))
        (local.set $pw (i32.add (local.get $pw) (local.get $ws)))
        (local.set $steps (i32.sub (local.get $steps) (i32.const 1)))
        (br $next)))
    (call $put_lanes (local.get $po) (local.get $c0) (local.get $relu) (local.get $lanes))
    (local.set $po (i32.add (local.get $po) (local.get $os)))
    (call $put_lanes (local.get $po) (local.get $c1) (local.get $relu) (local.get $lanes))
    (local.set $po (i32.add (local.get $po) (local.get $os)))
    (call $put_lanes (local.get $po) (local.get $c2) (local.get $relu) (local.get $lanes))
    (local.set $po (i32.add (local.get $po) (local.get $os)))
    (call $put_lanes (local.get $po) (local.get $c3) (local.get $relu) (local.get $lanes)))

  ;; C[1, lanes].
  (func $tile1x4
    (param $pa i32) (param $ss i32) (param $steps i32)
    (param $pw i32) (param $ws i32) (param $po i32) (param $pb i32) (param $relu i32)
    (param $lanes i32)
    (local $c v128)
    (local.set $c (call $bias (local.get $pb)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $steps)))
        (local.set $c
          (f32x4.relaxed_madd
            (v128.load32_splat (local.get $pa)) (v128.load (local.get $pw)) (local.get $c)))
        (local.set $pa (i32.add (local.get $pa) (local.get $ss)))
        (local.set $pw (i32.add (local.get $pw) (local.get $ws)))
        (local.set $steps (i32.sub (local.get $steps) (i32.const 1)))
        (br $next)))
    (call $put_lanes (local.get $po) (local.get $c) (local.get $relu) (local.get $lanes)))

  ;; C[rowsC, colsC] at po (row stride os) = sum over steps of A(j, t) B(t, .) (+ bias), tiled.
  (func $product
    (param $rowsC i32) (param $colsC i32) (param $steps i32)
    (param $pa i32) (param $sj i32) (param $ss i32) (param $pw i32) (param $ws i32)
    (param $po i32) (param $os i32) (param $pb i32) (param $relu i32)
    (local $o i32) (local $r i32) (local $off i32) (local $lanes i32)
    (block $wide
      (loop $cols8
        (br_if $wide (i32.gt_s (i32.add (local.get $o) (i32.const 8)) (local.get $colsC)))
        (local.set $off (i32.shl (local.get $o) (i32.const 2)))
        (local.set $r (i32.const 0))
        (block $rows4done
          (loop $rows4
            (br_if $rows4done (i32.gt_s (i32.add (local.get $r) (i32.const 4)) (local.get $rowsC)))
            (call $tile4x8
              (i32.add (local.get $pa) (i32.mul (local.get $r) (local.get $sj)))
              (local.get $sj) (local.get $ss) (local.get $steps)
              (i32.add (local.get $pw) (local.get $off)) (local.get $ws)
              (i32.add (i32.add (local.get $po) (i32.mul (local.get $r) (local.get $os)))
                (local.get $off))
              (local.get $os) (call $at (local.get $pb) (local.get $off)) (local.get $relu))
            (local.set $r (i32.add (local.get $r) (i32.const 4)))
            (br $rows4)))
        (block $rows1done
          (loop $rows1
            (br_if $rows1done (i32.ge_s (local.get $r) (local.get $rowsC)))
            (call $tile1x8
              (i32.add (local.get $pa) (i32.mul (local.get $r) (local.get $sj)))
              (local.get $ss) (local.get $steps)
              (i32.add (local.get $pw) (local.get $off)) (local.get $ws)
              (i32.add (i32.add (local.get $po) (i32.mul (local.get $r) (local.get $os)))
                (local.get $off))
              (call $at (local.get $pb) (local.get $off)) (local.get $relu))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows1)))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (br $cols8)))
    (block $narrow
      (loop $cols4
        (br_if $narrow (i32.ge_s (local.get $o) (local.get $colsC)))
        (local.set $lanes (i32.sub (local.get $colsC) (local.get $o)))
        (local.set $off (i32.shl (local.get $o) (i32.const 2)))
        (local.set $r (i32.const 0))
        (block $rows4done
          (loop $rows4
            (br_if $rows4done (i32.gt_s (i32.add (local.get $r) (i32.const 4)) (local.get $rowsC)))
            (call $tile4x4
              (i32.add (local.get $pa) (i32.mul (local.get $r) (local.get $sj)))
              (local.get $sj) (local.get $ss) (local.get $steps)
              (i32.add (local.get $pw) (local.get $off)) (local.get $ws)
              (i32.add (i32.add (local.get $po) (i32.mul (local.get $r) (local.get $os)))
                (local.get $off))
              (local.get $os) (call $at (local.get $pb) (local.get $off)) (local.get $relu)
              (local.get $lanes))
            (local.set $r (i32.add (local.get $r) (i32.const 4)))
            (br $rows4)))
        (block $rows1done
          (loop $rows1
            (br_if $rows1done (i32.ge_s (local.get $r) (local.get $rowsC)))
            (call $tile1x4
              (i32.add (local.get $pa) (i32.mul (local.get $r) (local.get $sj)))
              (local.get $ss) (local.get $steps)
              (i32.add (local.get $pw) (local.get $off)) (local.get $ws)
              (i32.add (i32.add (local.get $po) (i32.mul (local.get $r) (local.get $os)))
                (local.get $off))
              (call $at (local.get $pb) (local.get $off)) (local.get $relu) (local.get $lanes))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows1)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $cols4))))

  ;; z[0 .. count) = tanh(z) (act 2) or 1 / (1 + exp(-z)) (act 3), in f64 as the CPU backend.
  (func $activate (export "activate") (param $p i32) (param $count i32) (param $act i32)
    (local $end i32) (local $z f64)
    (if (i32.lt_u (local.get $act) (i32.const 2)) (then (return)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $z (f64.promote_f32 (f32.load (local.get $p))))
        (f32.store (local.get $p)
          (f32.demote_f64
            (if (result f64) (i32.eq (local.get $act) (i32.const 2))
              (then (call $tanh (local.get $z)))
              (else
                (f64.div (f64.const 1)
                  (f64.add (f64.const 1) (call $exp (f64.neg (local.get $z)))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $next))))

  ;; out[rows, n] = act(x[rows, k] @ w[k, n] + bias[n]); bias = 0 means none.
  (func (export "gemm")
    (param $x i32) (param $rows i32) (param $k i32) (param $w i32) (param $bias i32)
    (param $n i32) (param $out i32) (param $act i32)
    (call $product (local.get $rows) (local.get $n) (local.get $k)
      (local.get $x) (i32.shl (local.get $k) (i32.const 2)) (i32.const 4)
      (local.get $w) (i32.shl (local.get $n) (i32.const 2))
      (local.get $out) (i32.shl (local.get $n) (i32.const 2))
      (local.get $bias) (i32.eq (local.get $act) (i32.const 1)))
    (call $activate (local.get $out) (i32.mul (local.get $rows) (local.get $n)) (local.get $act)))

  ;; out[m, n] = x[rows, m]^T @ delta[rows, n] (a weight gradient, overwritten).
  (func (export "gemm_tn")
    (param $x i32) (param $rows i32) (param $m i32) (param $delta i32) (param $n i32)
    (param $out i32)
    (call $product (local.get $m) (local.get $n) (local.get $rows)
      (local.get $x) (i32.const 4) (i32.shl (local.get $m) (i32.const 2))
      (local.get $delta) (i32.shl (local.get $n) (i32.const 2))
      (local.get $out) (i32.shl (local.get $n) (i32.const 2))
      (i32.const 0) (i32.const 0)))

  ;; dst[c, r] = src[r, c].
  (func $transpose (export "transpose") (param $src i32) (param $r i32) (param $c i32) (param $dst i32)
    (local $i i32) (local $j i32) (local $row i32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $i) (local.get $r)))
        (local.set $row (i32.add (local.get $src) (i32.shl (i32.mul (local.get $i) (local.get $c)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $cdone
          (loop $cols
            (br_if $cdone (i32.ge_s (local.get $j) (local.get $c)))
            (f32.store
              (i32.add (local.get $dst)
                (i32.shl (i32.add (i32.mul (local.get $j) (local.get $r)) (local.get $i)) (i32.const 2)))
              (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; delta[0 .. count) *= f'(z), written through the activation's output a = f(z): relu a > 0,
  ;; tanh 1 - a^2, sigmoid a (1 - a); linear leaves delta alone.
  (func $act_grad (param $d i32) (param $a i32) (param $count i32) (param $act i32)
    (local $end i32) (local $v v128) (local $y v128)
    (if (i32.eqz (local.get $act)) (then (return)))
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $d) (i32.const 16)) (local.get $end)))
        (local.set $v (v128.load (local.get $d)))
        (local.set $y (v128.load (local.get $a)))
        (v128.store (local.get $d) (call $scale (local.get $v) (local.get $y) (local.get $act)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
        (local.set $v (v128.load32_zero (local.get $d)))
        (local.set $y (v128.load32_zero (local.get $a)))
        (f32.store (local.get $d)
          (f32x4.extract_lane 0 (call $scale (local.get $v) (local.get $y) (local.get $act))))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (br $next))))

  (func $scale (param $v v128) (param $y v128) (param $act i32) (result v128)
    (if (result v128) (i32.eq (local.get $act) (i32.const 1))
      (then (v128.and (local.get $v) (f32x4.gt (local.get $y) (v128.const f32x4 0 0 0 0))))
      (else
        (f32x4.mul (local.get $v)
          (if (result v128) (i32.eq (local.get $act) (i32.const 2))
            (then
              (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $y) (local.get $y))))
            (else
              (f32x4.mul (local.get $y)
                (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $y)))))))))

  ;; prev[rows, k] = (delta[rows, n] @ w[k, n]^T) * f'(a), with a[rows, k] the layer's inputs;
  ;; scratch holds n * k floats (w transposed).
  (func (export "backprop")
    (param $delta i32) (param $rows i32) (param $n i32) (param $w i32) (param $k i32)
    (param $a i32) (param $act i32) (param $prev i32) (param $scratch i32)
    (call $transpose (local.get $w) (local.get $k) (local.get $n) (local.get $scratch))
    (call $product (local.get $rows) (local.get $k) (local.get $n)
      (local.get $delta) (i32.shl (local.get $n) (i32.const 2)) (i32.const 4)
      (local.get $scratch) (i32.shl (local.get $k) (i32.const 2))
      (local.get $prev) (i32.shl (local.get $k) (i32.const 2))
      (i32.const 0) (i32.const 0))
    (call $act_grad (local.get $prev) (local.get $a) (i32.mul (local.get $rows) (local.get $k))
      (local.get $act)))

  ;; out[n] = sum over rows of delta[b, n] (a bias gradient, overwritten).
  (func (export "bias_grad") (param $delta i32) (param $rows i32) (param $n i32) (param $out i32)
    (local $o i32) (local $b i32) (local $p i32) (local $stride i32) (local $acc v128) (local $s f32)
    (local.set $stride (i32.shl (local.get $n) (i32.const 2)))
    (block $wide
      (loop $cols4
        (br_if $wide (i32.gt_s (i32.add (local.get $o) (i32.const 4)) (local.get $n)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $delta) (i32.shl (local.get $o) (i32.const 2))))
        (local.set $b (local.get $rows))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $b)))
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $stride)))
            (local.set $b (i32.sub (local.get $b) (i32.const 1)))
            (br $next)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2))) (local.get $acc))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $cols4)))
    (block $narrow
      (loop $cols1
        (br_if $narrow (i32.ge_s (local.get $o) (local.get $n)))
        (local.set $s (f32.const 0))
        (local.set $p (i32.add (local.get $delta) (i32.shl (local.get $o) (i32.const 2))))
        (local.set $b (local.get $rows))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $b)))
            (local.set $s (f32.add (local.get $s) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $stride)))
            (local.set $b (i32.sub (local.get $b) (i32.const 1)))
            (br $next)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2))) (local.get $s))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $cols1))))
)
