/**
 * Optimizers as pure update rules. The lr of every step comes from a schedule; everything else is
 * here. State layout per replica (see `optimizerStateSize`): SGD keeps one velocity per parameter
 * (none when momentum is 0); Adam and AdamW keep `m` then `v` (one each per parameter) and then one
 * float holding the number of steps taken since the last reset (for bias correction).
 *
 * Update rules for a parameter `w` with gradient `g` (after adding `weightDecay * w` for L2 in SGD and
 * Adam; AdamW decays decoupled: `w -= lr * weightDecay * w`):
 * - SGD `keras`:   `v = m * v - lr * g; w += v` (Nesterov: `w += m * v - lr * g`)
 * - SGD `pytorch`: `v = m * v + g; w -= lr * v` (Nesterov: `w -= lr * (g + m * v)`)
 * - Adam: `t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;`
 *   `w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)` (PyTorch's form)
 *
 * The two SGD conventions differ when the lr changes every step, which is exactly the case of cyclic
 * schedules; PyTorch's first step sets `v = g` (no dampening), which the zero initial state reproduces.
 *
 * @module
 */

/** SGD with momentum. */
export interface SgdOptimizer {
  readonly kind: "sgd";
  /** Momentum coefficient in `[0, 1)`. */
  readonly momentum: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  /** Which of the two momentum formulas users meet (see the module docs). */
  readonly convention: "keras" | "pytorch";
  /** L2 weight decay added to the gradient. */
  readonly weightDecay: number;
}

/** Adam, or AdamW when `decoupled`. */
export interface AdamOptimizer {
  readonly kind: "adam";
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** L2 (Adam) or decoupled (AdamW) weight decay. */
  readonly weightDecay: number;
  /** AdamW's decoupled weight decay. */
  readonly decoupled: boolean;
}

/** A validated optimizer description. */
export type Optimizer = SgdOptimizer | AdamOptimizer;
