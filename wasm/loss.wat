;; loss.wat: the heads' losses and prediction's combination, the twins of softmaxLossRows and
;; meanSquaredError in lib/ops/loss.ts, softmaxXentSoftRows in lib/ops/softmax_xent_soft.ts and
;; combineRows in lib/ops/combine.ts. They run in f64 with the same operations in the same order as
;; those (the host's Math.exp and Math.log are imported as math.exp and math.log), so for the same
;; logits they give the same bits.
;;
;; Memory: imported as env.memory; byte addresses; f32 matrices row-major, i32 labels.
(module
  (import "env" "memory" (memory 1))
  (import "math" "exp" (func $exp (param f64) (result f64)))
  (import "math" "log" (func $log (param f64) (result f64)))

  ;; Mean softmax cross-entropy of logits[rows, classes] against labels[rows]; writes the gradient
  ;; (softmax - onehot) / rows into grad[rows, classes] and, as an f32 at `correct`, the number of
  ;; rows whose first maximal logit is the label's.
  (func (export "softmax_xent")
    (param $logits i32) (param $labels i32) (param $rows i32) (param $classes i32)
    (param $grad i32) (param $correct i32) (result f64)
    (local $scale f64) (local $total f64) (local $hits i32) (local $b i32) (local $c i32)
    (local $row i32) (local $g i32) (local $label i32) (local $max f64) (local $best i32)
    (local $z f64) (local $sum f64) (local $e f64) (local $inv f64) (local $first f32)
    (local $bytes i32)
    (local.set $scale (f64.div (f64.const 1) (f64.convert_i32_s (local.get $rows))))
    (local.set $bytes (i32.shl (local.get $classes) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $row (i32.add (local.get $logits) (i32.mul (local.get $b) (local.get $bytes))))
        (local.set $g (i32.add (local.get $grad) (i32.mul (local.get $b) (local.get $bytes))))
        (local.set $label (i32.load (i32.add (local.get $labels) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $max (f64.const -inf))
        (local.set $best (i32.const 0))
        (local.set $c (i32.const 0))
        (block $mdone
          (loop $m
            (br_if $mdone (i32.ge_s (local.get $c) (local.get $classes)))
            (local.set $z (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))))
            (if (f64.gt (local.get $z) (local.get $max))
              (then (local.set $max (local.get $z)) (local.set $best (local.get $c))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $m)))
        ;; countCorrect starts from class 0, and nothing beats a NaN there.
        (local.set $first (f32.load (local.get $row)))
        (if (i32.eq
              (select (local.get $best) (i32.const 0) (f32.eq (local.get $first) (local.get $first)))
              (local.get $label))
          (then (local.set $hits (i32.add (local.get $hits) (i32.const 1)))))
        (local.set $sum (f64.const 0))
        (local.set $c (i32.const 0))
        (block $edone
          (loop $ex
            (br_if $edone (i32.ge_s (local.get $c) (local.get $classes)))
            (local.set $e
              (call $exp
                (f64.sub
                  (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))
                  (local.get $max))))
            (f32.store (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 2)))
              (f32.demote_f64 (local.get $e)))
            (local.set $sum (f64.add (local.get $sum) (local.get $e)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $ex)))
        (local.set $inv (f64.div (local.get $scale) (local.get $sum)))
        (local.set $c (i32.const 0))
        (block $sdone
          (loop $s
            (br_if $sdone (i32.ge_s (local.get $c) (local.get $classes)))
            (local.set $row (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 2))))
            (f32.store (local.get $row)
              (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (local.get $row))) (local.get $inv))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $s)))
        (local.set $row (i32.add (local.get $g) (i32.shl (local.get $label) (i32.const 2))))
        (f32.store (local.get $row)
          (f32.demote_f64 (f64.sub (f64.promote_f32 (f32.load (local.get $row))) (local.get $scale))))
        (local.set $total
          (f64.add (local.get $total)
            (f64.sub
              (f64.add (local.get $max) (call $log (local.get $sum)))
              (f64.promote_f32
                (f32.load
                  (i32.add
                    (i32.add (local.get $logits) (i32.mul (local.get $b) (local.get $bytes)))
                    (i32.shl (local.get $label) (i32.const 2))))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $next)))
    (f32.store (local.get $correct) (f32.convert_i32_s (local.get $hits)))
    (f64.mul (local.get $total) (local.get $scale)))

  ;; Mean squared error over count = rows * dim values; grad = 2 (out - target) / count.
  (func (export "mse")
    (param $out i32) (param $targets i32) (param $count i32) (param $grad i32) (result f64)
    (local $scale f64) (local $total f64) (local $d f64) (local $k i32) (local $at i32)
    (local.set $scale (f64.div (f64.const 2) (f64.convert_i32_s (local.get $count))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k) (local.get $count)))
        (local.set $at (i32.shl (local.get $k) (i32.const 2)))
        (local.set $d
          (f64.sub
            (f64.promote_f32 (f32.load (i32.add (local.get $out) (local.get $at))))
            (f64.promote_f32 (f32.load (i32.add (local.get $targets) (local.get $at))))))
        (local.set $total (f64.add (local.get $total) (f64.mul (local.get $d) (local.get $d))))
        (f32.store (i32.add (local.get $grad) (local.get $at))
          (f32.demote_f64 (f64.mul (local.get $d) (local.get $scale))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (f64.div (local.get $total) (f64.convert_i32_s (local.get $count))))

  ;; Mean soft-target cross-entropy T^2 H(q, softmax(z / T)) of logits[rows, classes] against the
  ;; target probabilities targets[rows, classes] at temperature T (knowledge distillation); writes
  ;; the gradient (T / rows) (softmax(z / T) sum(q) - q) into grad[rows, classes] and, as an f32 at
  ;; `correct`, the number of rows whose first argmax of z is the first argmax of q.
  (func (export "softmax_xent_soft")
    (param $logits i32) (param $targets i32) (param $rows i32) (param $classes i32)
    (param $t f64) (param $grad i32) (param $correct i32) (result f64)
    (local $invT f64) (local $scale f64) (local $total f64) (local $hits i32) (local $b i32)
    (local $c i32) (local $at i32) (local $z i32) (local $q i32) (local $g i32) (local $bytes i32)
    (local $zBest i32) (local $qBest i32) (local $zMax f32) (local $qMax f32) (local $v f32)
    (local $top f64) (local $sum f64) (local $mass f64) (local $e f64) (local $logSum f64)
    (local $inv f64) (local $cross f64) (local $p f64)
    (local.set $invT (f64.div (f64.const 1) (local.get $t)))
    (local.set $scale (f64.div (local.get $t) (f64.convert_i32_s (local.get $rows))))
    (local.set $bytes (i32.shl (local.get $classes) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $z (i32.add (local.get $logits) (i32.mul (local.get $b) (local.get $bytes))))
        (local.set $q (i32.add (local.get $targets) (i32.mul (local.get $b) (local.get $bytes))))
        (local.set $g (i32.add (local.get $grad) (i32.mul (local.get $b) (local.get $bytes))))
        ;; First argmaxes from class 0 on (nothing beats a NaN there), as the reference's.
        (local.set $zBest (i32.const 0))
        (local.set $qBest (i32.const 0))
        (local.set $zMax (f32.load (local.get $z)))
        (local.set $qMax (f32.load (local.get $q)))
        (local.set $c (i32.const 1))
        (block $mdone
          (loop $m
            (br_if $mdone (i32.ge_s (local.get $c) (local.get $classes)))
            (local.set $at (i32.shl (local.get $c) (i32.const 2)))
            (local.set $v (f32.load (i32.add (local.get $z) (local.get $at))))
            (if (f32.gt (local.get $v) (local.get $zMax))
              (then (local.set $zMax (local.get $v)) (local.set $zBest (local.get $c))))
            (local.set $v (f32.load (i32.add (local.get $q) (local.get $at))))
            (if (f32.gt (local.get $v) (local.get $qMax))
              (then (local.set $qMax (local.get $v)) (local.set $qBest (local.get $c))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $m)))
        (if (i32.eq (local.get $zBest) (local.get $qBest))
          (then (local.set $hits (i32.add (local.get $hits) (i32.const 1)))))
        (local.set $top (f64.mul (f64.promote_f32 (local.get $zMax)) (local.get $invT)))
        ;; The exponentials go through grad as f32, as the reference's do.
        (local.set $sum (f64.const 0))
        (local.set $mass (f64.const 0))
        (local.set $c (i32.const 0))
        (block $edone
          (loop $ex
            (br_if $edone (i32.ge_s (local.get $c) (local.get $classes)))
            (local.set $at (i32.shl (local.get $c) (i32.const 2)))
            (local.set $e
              (call $exp
                (f64.sub
                  (f64.mul
                    (f64.promote_f32 (f32.load (i32.add (local.get $z) (local.get $at))))
                    (local.get $invT))
                  (local.get $top))))
            (f32.store (i32.add (local.get $g) (local.get $at)) (f32.demote_f64 (local.get $e)))
            (local.set $sum (f64.add (local.get $sum) (local.get $e)))
            (local.set $mass
              (f64.add (local.get $mass)
                (f64.promote_f32 (f32.load (i32.add (local.get $q) (local.get $at))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $ex)))
        (local.set $logSum (call $log (local.get $sum)))
        (local.set $inv (f64.div (local.get $mass) (local.get $sum)))
        (local.set $cross (f64.const 0))
        (local.set $c (i32.const 0))
        (block $sdone
          (loop $s
            (br_if $sdone (i32.ge_s (local.get $c) (local.get $classes)))
            (local.set $at (i32.shl (local.get $c) (i32.const 2)))
            (local.set $p (f64.promote_f32 (f32.load (i32.add (local.get $q) (local.get $at)))))
            (local.set $cross
              (f64.sub (local.get $cross)
                (f64.mul (local.get $p)
                  (f64.sub
                    (f64.sub
                      (f64.mul
                        (f64.promote_f32 (f32.load (i32.add (local.get $z) (local.get $at))))
                        (local.get $invT))
                      (local.get $top))
                    (local.get $logSum)))))
            (f32.store (i32.add (local.get $g) (local.get $at))
              (f32.demote_f64
                (f64.mul (local.get $scale)
                  (f64.sub
                    (f64.mul
                      (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $at))))
                      (local.get $inv))
                    (local.get $p)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $s)))
        (local.set $total
          (f64.add (local.get $total)
            (f64.mul (f64.mul (local.get $t) (local.get $t)) (local.get $cross))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $next)))
    (f32.store (local.get $correct) (f32.convert_i32_s (local.get $hits)))
    (f64.div (local.get $total) (f64.convert_i32_s (local.get $rows))))

  ;; out[rows, width] (+)= weight * g(result), g the row softmax (softmax != 0) or the identity;
  ;; overwrites result with the exponentials. accumulate == 0 stores instead of adding.
  (func (export "combine")
    (param $result i32) (param $rows i32) (param $width i32) (param $softmax i32)
    (param $out i32) (param $weight f64) (param $accumulate i32)
    (local $b i32) (local $c i32) (local $row i32) (local $dst i32) (local $scale f64)
    (local $max f64) (local $sum f64) (local $e f64) (local $z f64) (local $p i32) (local $q i32)
    (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $width) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $row (i32.add (local.get $result) (i32.mul (local.get $b) (local.get $bytes))))
        (local.set $dst (i32.add (local.get $out) (i32.mul (local.get $b) (local.get $bytes))))
        (local.set $scale (local.get $weight))
        (if (local.get $softmax)
          (then
            (local.set $max (f64.const -inf))
            (local.set $c (i32.const 0))
            (block $mdone
              (loop $m
                (br_if $mdone (i32.ge_s (local.get $c) (local.get $width)))
                (local.set $z (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))))
                (if (f64.gt (local.get $z) (local.get $max)) (then (local.set $max (local.get $z))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $m)))
            (local.set $sum (f64.const 0))
            (local.set $c (i32.const 0))
            (block $edone
              (loop $ex
                (br_if $edone (i32.ge_s (local.get $c) (local.get $width)))
                (local.set $p (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))
                (local.set $e
                  (call $exp (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (local.get $max))))
                (f32.store (local.get $p) (f32.demote_f64 (local.get $e)))
                (local.set $sum (f64.add (local.get $sum) (local.get $e)))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $ex)))
            (local.set $scale (f64.div (local.get $weight) (local.get $sum)))))
        (local.set $c (i32.const 0))
        (block $sdone
          (loop $s
            (br_if $sdone (i32.ge_s (local.get $c) (local.get $width)))
            (local.set $p (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))
            (local.set $q (i32.add (local.get $dst) (i32.shl (local.get $c) (i32.const 2))))
            (local.set $z (f64.mul (local.get $scale) (f64.promote_f32 (f32.load (local.get $p)))))
            (f32.store (local.get $q)
              (f32.demote_f64
                (if (result f64) (local.get $accumulate)
                  (then (f64.add (f64.promote_f32 (f32.load (local.get $q))) (local.get $z)))
                  (else (local.get $z)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $s)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $next))))
)
