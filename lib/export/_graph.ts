/**
 * A small builder for the ONNX graph of an exported ensemble: operators, constants and fresh
 * names, collected in order. Pure data; `_onnx_proto.ts` encodes the result.
 *
 * @module
 */
import {
  DATA_TYPE,
  float32Bytes,
  int64Bytes,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor,
} from "./_onnx_proto.ts";

/** Collects the nodes and initializers of one graph. */
export class GraphBuilder {
  /** The operators in topological order. */
  readonly nodes: OnnxNode[] = [];
  /** The constant tensors. */
  readonly initializers: OnnxTensor[] = [];
  #count = 0;

  /** Adds one operator with one output and returns the output's name. */
  op(
    opType: string,
    inputs: ReadonlyArray<string>,
    attributes: ReadonlyArray<OnnxAttribute> = [],
    output?: string,
  ): string {
    const name = `${opType.toLowerCase()}_${this.#count++}`;
    const out = output ?? name;
    this.nodes.push({ opType, name, inputs, outputs: [out], attributes });
    return out;
  }

  /** Adds a float32 constant and returns its name. */
  floats(name: string, dims: ReadonlyArray<number>, values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, dataType: DATA_TYPE.float, raw: float32Bytes(values) });
    return name;
  }

  /** Adds an int64 constant and returns its name. */
  ints(name: string, dims: ReadonlyArray<number>, values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, dataType: DATA_TYPE.int64, raw: int64Bytes(values) });
    return name;
  }
}
