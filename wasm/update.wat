;; update.wat: optimizer updates, the twins of the reference `update` of lib/optimizers/sgd.ts and
;; lib/optimizers/adam.ts: f64 arithmetic with the same operations in the same order, f32 stores,
;; so the same bits (two parameters per f64x2). No relaxed instructions here: both variants are
;; exact.
;;
;; Memory: imported as env.memory; byte addresses; params, grads and state f32 of one replica.
(module
  (import "env" "memory" (memory 1))

  ;; Two f32 at p (one when two == 0) as f64x2.
  (func $load (param $p i32) (param $two i32) (result v128)
    (f64x2.promote_low_f32x4
      (if (result v128) (local.get $two)
        (then (v128.load64_zero (local.get $p)))
        (else (v128.load32_zero (local.get $p))))))

  ;; Stores v's two f64 lanes as f32 at p (only the first when two == 0).
  (func $store (param $p i32) (param $v v128) (param $two i32)
    (local.set $v (f32x4.demote_f64x2_zero (local.get $v)))
    (if (local.get $two)
      (then (v128.store64_lane 0 (local.get $p) (local.get $v)))
      (else (v128.store32_lane 0 (local.get $p) (local.get $v)))))

  ;; sgd's mode 1 (Keras momentum, the default: v = m v - lr g; w += v) for the parameters
  ;; 0 .. count & ~3, four at a time as two pairs, each loaded (two f32 into an f64x2) and stored
  ;; on its own: 20% faster than one f32x4 load per array split by shuffles; returns where it
  ;; stopped. The other modes take the two-at-a-time loop of sgd for every parameter.
  (func $keras4
    (param $params i32) (param $grads i32) (param $state i32) (param $count i32)
    (param $lrv v128) (param $mv v128) (param $wdv v128) (result i32)
    (local $k i32) (local $at i32) (local $w v128) (local $v v128)
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $count)))
        (local.set $at (i32.shl (local.get $k) (i32.const 2)))
        (local.set $w
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (i32.add (local.get $params) (local.get $at)))))
        (local.set $v
          (f64x2.sub
            (f64x2.mul (local.get $mv)
              (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (i32.add (local.get $state) (local.get $at)))))
            (f64x2.mul (local.get $lrv)
              (f64x2.add
                (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (i32.add (local.get $grads) (local.get $at))))
                (f64x2.mul (local.get $wdv) (local.get $w))))))
        (v128.store64_lane offset=0 0 (i32.add (local.get $state) (local.get $at))
          (f32x4.demote_f64x2_zero (local.get $v)))
        (v128.store64_lane offset=0 0 (i32.add (local.get $params) (local.get $at))
          (f32x4.demote_f64x2_zero (f64x2.add (local.get $w) (local.get $v))))
        (local.set $w
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $params) (local.get $at)))))
        (local.set $v
          (f64x2.sub
            (f64x2.mul (local.get $mv)
              (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $state) (local.get $at)))))
            (f64x2.mul (local.get $lrv)
              (f64x2.add
                (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $grads) (local.get $at))))
                (f64x2.mul (local.get $wdv) (local.get $w))))))
        (v128.store64_lane offset=8 0 (i32.add (local.get $state) (local.get $at))
          (f32x4.demote_f64x2_zero (local.get $v)))
        (v128.store64_lane offset=8 0 (i32.add (local.get $params) (local.get $at))
          (f32x4.demote_f64x2_zero (f64x2.add (local.get $w) (local.get $v))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $next)))
    (local.get $k))

  ;; SGD. mode: 0 no momentum `w -= lr (g + wd w)`; 1 Keras `v = m v - lr g; w += v`;
  ;; 2 Keras Nesterov `w += m v - lr g`; 3 PyTorch `v = m v + g; w -= lr v`;
  ;; 4 PyTorch Nesterov `w -= lr (g + m v)`; g = grad + wd w.
  (func (export "sgd")
    (param $params i32) (param $grads i32) (param $state i32) (param $count i32)
    (param $lr f64) (param $m f64) (param $wd f64) (param $mode i32)
    (local $k i32) (local $two i32) (local $w v128) (local $g v128) (local $v v128)
    (local $lrv v128) (local $mv v128) (local $wdv v128) (local $at i32)
    (local.set $lrv (f64x2.splat (local.get $lr)))
    (local.set $mv (f64x2.splat (local.get $m)))
    (local.set $wdv (f64x2.splat (local.get $wd)))
    ;; Mode 1 four at a time while four remain, then the two-at-a-time loop below for the rest.
    (if (i32.eq (local.get $mode) (i32.const 1))
      (then
        (local.set $k
          (call $keras4 (local.get $params) (local.get $grads) (local.get $state)
            (local.get $count) (local.get $lrv) (local.get $mv) (local.get $wdv)))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k) (local.get $count)))
        (local.set $two (i32.lt_s (i32.add (local.get $k) (i32.const 1)) (local.get $count)))
        (local.set $at (i32.shl (local.get $k) (i32.const 2)))
        (local.set $w (call $load (i32.add (local.get $params) (local.get $at)) (local.get $two)))
        (local.set $g
          (f64x2.add (call $load (i32.add (local.get $grads) (local.get $at)) (local.get $two))
            (f64x2.mul (local.get $wdv) (local.get $w))))
        (if (i32.eqz (local.get $mode))
          (then
            (local.set $w
              (f64x2.sub (local.get $w) (f64x2.mul (local.get $lrv) (local.get $g)))))
          (else
            (local.set $v (call $load (i32.add (local.get $state) (local.get $at)) (local.get $two)))
            (if (i32.le_s (local.get $mode) (i32.const 2))
              (then
                (local.set $v
                  (f64x2.sub (f64x2.mul (local.get $mv) (local.get $v))
                    (f64x2.mul (local.get $lrv) (local.get $g))))
                (local.set $w
                  (if (result v128) (i32.eq (local.get $mode) (i32.const 2))
                    (then
                      (f64x2.sub
                        (f64x2.add (local.get $w) (f64x2.mul (local.get $mv) (local.get $v)))
                        (f64x2.mul (local.get $lrv) (local.get $g))))
                    (else (f64x2.add (local.get $w) (local.get $v))))))
              (else
                (local.set $v
                  (f64x2.add (f64x2.mul (local.get $mv) (local.get $v)) (local.get $g)))
                (local.set $w
                  (f64x2.sub (local.get $w)
                    (f64x2.mul (local.get $lrv)
                      (if (result v128) (i32.eq (local.get $mode) (i32.const 4))
                        (then
                          (f64x2.add (local.get $g) (f64x2.mul (local.get $mv) (local.get $v))))
                        (else (local.get $v))))))))
            (call $store (i32.add (local.get $state) (local.get $at)) (local.get $v) (local.get $two))))
        (call $store (i32.add (local.get $params) (local.get $at)) (local.get $w) (local.get $two))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $next))))

  ;; Adam / AdamW with the step counter already advanced by the host: m at state, v at vs (the
  ;; host passes both, so that a range of parameters can be updated on its own); g = grad + l2 w; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
  ;; w = w shrink - stepSize m / (sqrt(v) / correction2 + eps).
  (func (export "adam")
    (param $params i32) (param $grads i32) (param $state i32) (param $vs i32) (param $count i32)
    (param $stepSize f64) (param $correction2 f64) (param $beta1 f64) (param $beta2 f64)
    (param $eps f64) (param $l2 f64) (param $shrink f64)
    (local $k i32) (local $two i32) (local $at i32) (local $vOff i32)
    (local $w v128) (local $g v128) (local $mk v128) (local $vk v128)
    (local $b1 v128) (local $b2 v128) (local $c1 v128) (local $c2 v128)
    (local.set $b1 (f64x2.splat (local.get $beta1)))
    (local.set $b2 (f64x2.splat (local.get $beta2)))
    (local.set $c1 (f64x2.splat (f64.sub (f64.const 1) (local.get $beta1))))
    (local.set $c2 (f64x2.splat (f64.sub (f64.const 1) (local.get $beta2))))
    (local.set $vOff (local.get $vs))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k) (local.get $count)))
        (local.set $two (i32.lt_s (i32.add (local.get $k) (i32.const 1)) (local.get $count)))
        (local.set $at (i32.shl (local.get $k) (i32.const 2)))
        (local.set $w (call $load (i32.add (local.get $params) (local.get $at)) (local.get $two)))
        (local.set $g
          (f64x2.add (call $load (i32.add (local.get $grads) (local.get $at)) (local.get $two))
            (f64x2.mul (f64x2.splat (local.get $l2)) (local.get $w))))
        (local.set $mk
          (f64x2.add
            (f64x2.mul (local.get $b1)
              (call $load (i32.add (local.get $state) (local.get $at)) (local.get $two)))
            (f64x2.mul (local.get $c1) (local.get $g))))
        (local.set $vk
          (f64x2.add
            (f64x2.mul (local.get $b2)
              (call $load (i32.add (local.get $vOff) (local.get $at)) (local.get $two)))
            (f64x2.mul (f64x2.mul (local.get $c2) (local.get $g)) (local.get $g))))
        (call $store (i32.add (local.get $state) (local.get $at)) (local.get $mk) (local.get $two))
        (call $store (i32.add (local.get $vOff) (local.get $at)) (local.get $vk) (local.get $two))
        (call $store (i32.add (local.get $params) (local.get $at))
          (f64x2.sub
            (f64x2.mul (local.get $w) (f64x2.splat (local.get $shrink)))
            (f64x2.div
              (f64x2.mul (f64x2.splat (local.get $stepSize)) (local.get $mk))
              (f64x2.add
                (f64x2.div (f64x2.sqrt (local.get $vk)) (f64x2.splat (local.get $correction2)))
                (f64x2.splat (local.get $eps)))))
          (local.get $two))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $next))))
)
