/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, IR version 8) that an exported ensemble
 * uses, as plain data, and its encoder.
 *
 * The wire format comes from `@bufbuild/protobuf`'s `BinaryWriter` (Buf's conformance-tested
 * runtime, zero dependencies, ES modules that run in Deno and browsers alike); the field numbers
 * below are those of onnx.proto, and tests/export_onnx_test.ts checks every model written here with
 * the ONNX checker (full checks, shape inference) and runs it in ONNX Runtime.
 *
 * @module
 */
import type { BinaryWriter } from "@bufbuild/protobuf/wire";

/**
 * The encoder's module, for code that loads it on first use (`io.ts`); the same package and
 * version as `deno.json`'s `@bufbuild/protobuf/wire` (a test checks).
 */
export const WIRE_MODULE = "npm:@bufbuild/protobuf@2.17.0/wire";

/** Protobuf wire types (the protobuf encoding spec). */
const WireType = { Varint: 0, Bit64: 1, LengthDelimited: 2, Bit32: 5 } as const;

/** ONNX `TensorProto.DataType` values used here. */
export const DATA_TYPE = { float: 1, int64: 7 } as const;

/** A constant tensor (an initializer or an attribute value). */
export interface OnnxTensor {
  readonly name: string;
  readonly dims: ReadonlyArray<number>;
  readonly dataType: number;
  /** Little-endian element bytes. */
  readonly raw: Uint8Array;
}

/** A node attribute: one of the kinds ONNX allows (only those used here). */
export type OnnxAttribute =
  | { readonly name: string; readonly kind: "int"; readonly value: number }
  | { readonly name: string; readonly kind: "ints"; readonly value: ReadonlyArray<number> }
  | { readonly name: string; readonly kind: "float"; readonly value: number };

/** One operator application. */
export interface OnnxNode {
  readonly opType: string;
  readonly name: string;
  readonly inputs: ReadonlyArray<string>;
  readonly outputs: ReadonlyArray<string>;
  readonly attributes?: ReadonlyArray<OnnxAttribute>;
}

/** A graph input or output: a float tensor whose dims are sizes or symbolic names. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: number;
  readonly dims: ReadonlyArray<number | string>;
  readonly doc?: string;
}

/** The whole model. */
export interface OnnxModel {
  readonly irVersion: number;
  readonly opset: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly doc: string;
  readonly graphName: string;
  readonly nodes: ReadonlyArray<OnnxNode>;
  readonly initializers: ReadonlyArray<OnnxTensor>;
  readonly inputs: ReadonlyArray<OnnxValueInfo>;
  readonly outputs: ReadonlyArray<OnnxValueInfo>;
  readonly metadata: ReadonlyArray<readonly [string, string]>;
}

const LEN = WireType.LengthDelimited;
const VARINT = WireType.Varint;

/** Writes a nested message as a length-delimited field. */
function message<T>(
  w: BinaryWriter,
  field: number,
  value: T,
  body: (w: BinaryWriter, v: T) => void,
) {
  w.tag(field, LEN).fork();
  body(w, value);
  w.join();
}

function tensor(w: BinaryWriter, t: OnnxTensor): void {
  for (const d of t.dims) w.tag(1, VARINT).int64(d); // dims
  w.tag(2, VARINT).int32(t.dataType); // data_type
  w.tag(8, LEN).string(t.name); // name
  w.tag(9, LEN).bytes(t.raw); // raw_data
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, ints: 7 } as const;

function attribute(w: BinaryWriter, a: OnnxAttribute): void {
  w.tag(1, LEN).string(a.name); // name
  switch (a.kind) {
    case "float":
      w.tag(2, WireType.Bit32).float(a.value); // f
      break;
    case "int":
      w.tag(3, VARINT).int64(a.value); // i
      break;
    case "ints":
      for (const v of a.value) w.tag(8, VARINT).int64(v); // ints
      break;
    default:
      a satisfies never;
  }
  w.tag(20, VARINT).int32(ATTRIBUTE_TYPE[a.kind]); // type
}

function node(w: BinaryWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.tag(1, LEN).string(i); // input
  for (const o of n.outputs) w.tag(2, LEN).string(o); // output
  w.tag(3, LEN).string(n.name); // name
  w.tag(4, LEN).string(n.opType); // op_type
  for (const a of n.attributes ?? []) message(w, 5, a, attribute); // attribute
}

function valueInfo(w: BinaryWriter, v: OnnxValueInfo): void {
  w.tag(1, LEN).string(v.name); // name
  message(w, 2, v, (w, v) => { // type: TypeProto
    message(w, 1, v, (w, v) => { // tensor_type: TypeProto.Tensor
      w.tag(1, VARINT).int32(v.elemType); // elem_type
      message(w, 2, v.dims, (w, dims) => { // shape: TensorShapeProto
        for (const d of dims) {
          message(w, 1, d, (w, d) => { // dim: Dimension
            if (typeof d === "string") w.tag(2, LEN).string(d); // dim_param
            else w.tag(1, VARINT).int64(d); // dim_value
          });
        }
      });
    });
  });
  if (v.doc !== undefined) w.tag(3, LEN).string(v.doc); // doc_string
}

function graph(w: BinaryWriter, m: OnnxModel): void {
  for (const n of m.nodes) message(w, 1, n, node); // node
  w.tag(2, LEN).string(m.graphName); // name
  for (const t of m.initializers) message(w, 5, t, tensor); // initializer
  for (const v of m.inputs) message(w, 11, v, valueInfo); // input
  for (const v of m.outputs) message(w, 12, v, valueInfo); // output
}

/**
 * Encodes a model as ONNX protobuf bytes (`ModelProto`).
 *
 * @param m The model.
 * @param w A fresh `BinaryWriter` of `@bufbuild/protobuf/wire`.
 * @returns The bytes of a `.onnx` file.
 */
export function encodeOnnxModel(m: OnnxModel, w: BinaryWriter): Uint8Array<ArrayBuffer> {
  w.tag(1, VARINT).int64(m.irVersion); // ir_version
  w.tag(2, LEN).string(m.producerName); // producer_name
  w.tag(3, LEN).string(m.producerVersion); // producer_version
  w.tag(6, LEN).string(m.doc); // doc_string
  message(w, 7, m, graph); // graph
  message(w, 8, m.opset, (w, version) => { // opset_import: OperatorSetIdProto
    w.tag(1, LEN).string(""); // domain: the default (ai.onnx)
    w.tag(2, VARINT).int64(version); // version
  });
  for (const [key, value] of m.metadata) {
    message(w, 14, [key, value], (w, [k, v]) => { // metadata_props: StringStringEntryProto
      w.tag(1, LEN).string(k);
      w.tag(2, LEN).string(v);
    });
  }
  return w.finish();
}

/** Little-endian bytes of float32 values. */
export function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Little-endian bytes of int64 values. */
export function int64Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]), true);
  return out;
}
