"""Builds all-MiniLM-L6-v2's ONNX graph from its safetensors weights, without torch.

The graph is BERT as transformers runs it (embeddings, 6 encoder layers with erf GELU and
LayerNorm eps 1e-12), with inputs `input_ids` and `attention_mask` (int64, [batch, sequence]) and
output `last_hidden_state` (float32, [batch, sequence, 384]). Pooling and normalisation are done
by the caller (crates/doctown-embedding). Usage:

    python build_onnx_model.py MODEL_DIR OUT.onnx

MODEL_DIR holds config.json and model.safetensors.
"""

import json
import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file


def build(model_dir, out_path):
    config = json.load(open(f"{model_dir}/config.json"))
    weights = load_file(f"{model_dir}/model.safetensors")
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_size = hidden // heads
    eps = config["layer_norm_eps"]
    assert config["hidden_act"] == "gelu" and config["position_embedding_type"] == "absolute"

    nodes, initializers = [], []

    def const(name, array):
        initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def weight(key):
        return const(key, weights[key].astype(np.float32))

    def linear(x, prefix, name):
        # y = x · Wᵀ + b, with Wᵀ stored once.
        w = const(f"{prefix}.weight.T", weights[f"{prefix}.weight"].T.astype(np.float32).copy())
        return node("Add", [node("MatMul", [x, w], f"{name}.matmul"), weight(f"{prefix}.bias")], name)

    def layer_norm(x, prefix, name):
        return node(
            "LayerNormalization",
            [x, weight(f"{prefix}.weight"), weight(f"{prefix}.bias")],
            name,
            axis=-1,
            epsilon=eps,
        )

    # Embeddings: words + positions + token type 0.
    words = node("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"], "words")
    shape = node("Shape", ["input_ids"], "input_shape")
    length = node(
        "Gather", [shape, const("one_index", np.array(1, dtype=np.int64))], "sequence_length"
    )
    positions = node(
        "Range",
        [const("zero", np.array(0, dtype=np.int64)), length, const("one", np.array(1, dtype=np.int64))],
        "positions",
    )
    position_vectors = node(
        "Gather", [weight("embeddings.position_embeddings.weight"), positions], "position_vectors"
    )
    token_type = const(
        "token_type_0", weights["embeddings.token_type_embeddings.weight"][0].astype(np.float32)
    )
    summed = node("Add", [node("Add", [words, position_vectors], "words_positions"), token_type], "embedded")
    x = layer_norm(summed, "embeddings.LayerNorm", "embeddings")

    # Attention mask: 0 where attended, a large negative number where padded; [batch, 1, 1, seq].
    mask = node("Cast", ["attention_mask"], "mask_float", to=TensorProto.FLOAT)
    inverted = node("Sub", [const("one_float", np.array(1.0, dtype=np.float32)), mask], "mask_inverted")
    bias = node("Mul", [inverted, const("mask_min", np.array(np.finfo(np.float32).min, dtype=np.float32))], "mask_bias")
    bias = node("Unsqueeze", [bias, const("mask_axes", np.array([1, 2], dtype=np.int64))], "mask_bias_4d")

    split_heads = const("split_heads", np.array([0, 0, heads, head_size], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / math.sqrt(head_size), dtype=np.float32))
    half = const("half", np.array(0.5, dtype=np.float32))
    sqrt2 = const("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    one_f = "one_float"

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"

        def heads_of(which, perm):
            projected = linear(x, f"{p}.attention.self.{which}", f"l{i}.{which}")
            reshaped = node("Reshape", [projected, split_heads], f"l{i}.{which}.heads")
            return node("Transpose", [reshaped], f"l{i}.{which}.t", perm=perm)

        q = heads_of("query", [0, 2, 1, 3])
        k = heads_of("key", [0, 2, 3, 1])
        v = heads_of("value", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"l{i}.qk"), scale], f"l{i}.scaled")
        scores = node("Add", [scores, bias], f"l{i}.masked")
        probs = node("Softmax", [scores], f"l{i}.probs", axis=-1)
        context = node("MatMul", [probs, v], f"l{i}.context")
        context = node("Transpose", [context], f"l{i}.context.t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_heads], f"l{i}.context.merged")
        attended = linear(context, f"{p}.attention.output.dense", f"l{i}.attention.out")
        x1 = layer_norm(node("Add", [attended, x], f"l{i}.residual1"), f"{p}.attention.output.LayerNorm", f"l{i}.norm1")
        inner = linear(x1, f"{p}.intermediate.dense", f"l{i}.intermediate")
        # GELU (erf form, as transformers' "gelu"): 0.5·x·(1 + erf(x/√2)).
        erf = node("Erf", [node("Div", [inner, sqrt2], f"l{i}.gelu.div")], f"l{i}.gelu.erf")
        gelu = node("Mul", [node("Mul", [inner, half], f"l{i}.gelu.half"), node("Add", [erf, one_f], f"l{i}.gelu.add")], f"l{i}.gelu")
        out = linear(gelu, f"{p}.output.dense", f"l{i}.output")
        x = layer_norm(node("Add", [out, x1], f"l{i}.residual2"), f"{p}.output.LayerNorm", f"l{i}.norm2")

    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state"))
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="doctown")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2])
