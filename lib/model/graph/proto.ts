/**
 * Just enough protocol-buffer encoding to write a TensorFlow SavedModel (saved_model.pb) holding
 * one GraphDef: field numbers from tensorflow/core/framework/{graph,node_def,attr_value,tensor,
 * tensor_shape,versions}.proto and tensorflow/core/protobuf/{saved_model,meta_graph}.proto.
 * Encode-only; no dependency on a protobuf library or on tfjs-node's internals.
 */

/** TensorFlow's DataType enum (types.proto), for the dtypes the training graph uses. */
export const DT = { float: 1, int32: 3, uint8: 4, bool: 10, bfloat16: 14 } as const;
export type DataType = (typeof DT)[keyof typeof DT];

/** A message under construction: encoded fields, concatenated in order. */
class Message {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private key(field: number, wireType: 0 | 2): void {
    this.push(varint((field << 3) | wireType));
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.push(varint(value));
    return this;
  }

  bool(field: number, value: boolean): this {
    return this.int(field, value ? 1 : 0);
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.push(varint(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: Message): this {
    return this.bytes(field, value.finish());
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    return this.bytes(field, concat(values.map((value) => varint(value))));
  }

  finish(): Uint8Array {
    return concat(this.parts, this.length);
  }
}

/** Base-128 varint; negative numbers as 64-bit two's complement (ten bytes), as protobuf's int64. */
export function varint(value: number | bigint): Uint8Array {
  let n = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return Uint8Array.from(out);
}

function concat(parts: readonly Uint8Array[], length = parts.reduce((sum, part) => sum + part.length, 0)): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A dimension of -1 is unknown (e.g. the batch); `undefined` is an unknown rank. */
export type Shape = readonly number[] | undefined;

export type AttrValue =
  | { kind: 's'; value: string }
  | { kind: 'i'; value: number }
  | { kind: 'b'; value: boolean }
  | { kind: 'type'; value: DataType }
  | { kind: 'shape'; value: Shape }
  | { kind: 'tensor'; value: TensorValue }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'strings'; value: readonly string[] };

export interface TensorValue {
  dtype: DataType;
  shape: readonly number[];
  /** Little-endian element bytes (TensorProto.tensor_content). */
  content: Uint8Array;
}

export interface NodeDef {
  name: string;
  op: string;
  /** "node", "node:1", or "^node" for a control dependency (which must come last). */
  inputs: readonly string[];
  attrs: Readonly<Record<string, AttrValue>>;
}

function shapeMessage(shape: Shape): Message {
  const message = new Message();
  if (shape === undefined) return message.bool(3, true);
  for (const size of shape) message.message(2, new Message().int(1, size));
  return message;
}

function tensorMessage(tensor: TensorValue): Message {
  return new Message().int(1, tensor.dtype).message(2, shapeMessage(tensor.shape)).bytes(4, tensor.content);
}

function attrMessage(attr: AttrValue): Message {
  const message = new Message();
  switch (attr.kind) {
    case 's':
      return message.string(2, attr.value);
    case 'i':
      return message.int(3, attr.value);
    case 'b':
      return message.bool(5, attr.value);
    case 'type':
      return message.int(6, attr.value);
    case 'shape':
      return message.message(7, shapeMessage(attr.value));
    case 'tensor':
      return message.message(8, tensorMessage(attr.value));
    case 'ints': {
      const list = new Message();
      if (attr.value.length > 0) list.packedInts(3, attr.value);
      return message.message(1, list);
    }
    case 'strings': {
      const list = new Message();
      for (const s of attr.value) list.string(2, s);
      return message.message(1, list);
    }
  }
}

function nodeMessage(node: NodeDef): Message {
  const message = new Message().string(1, node.name).string(2, node.op);
  for (const input of node.inputs) message.string(3, input);
  for (const name of Object.keys(node.attrs).sort()) {
    message.message(5, new Message().string(1, name).message(2, attrMessage(node.attrs[name])));
  }
  return message;
}

/** TensorFlow 2.21's GraphDef version; any TensorFlow from 2.x on reads it. */
export const GRAPH_DEF_PRODUCER = 2474;

/** A SavedModel (schema version 1) with one MetaGraphDef tagged `tags`, holding `nodes`. */
export function encodeSavedModel(nodes: readonly NodeDef[], tags: readonly string[]): Uint8Array {
  const graph = new Message();
  for (const node of nodes) graph.message(1, nodeMessage(node));
  graph.message(4, new Message().int(1, GRAPH_DEF_PRODUCER));
  const metaInfo = new Message().string(1, 'fmnist-train-graph');
  for (const tag of tags) metaInfo.string(4, tag);
  const metaGraph = new Message().message(1, metaInfo).message(2, graph);
  return new Message().int(1, 1).message(2, metaGraph).finish();
}
