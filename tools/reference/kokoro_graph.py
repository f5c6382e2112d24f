"""Shared helpers for the Kokoro-82M ONNX reference tools.

Loads the graph, finds the model directory, assigns every node to a Kokoro
module (by its node name, which the PyTorch exporter derived from the module
path) and propagates element types well enough to tell float activations from
shape plumbing.  Used by graph_summary.py and expose.py.

Run with Debian's python3 (/usr/bin/python3) and python3-onnx / python3-numpy.
"""

import os
import re
import sys

try:
    import onnx
    from onnx import helper, numpy_helper, TensorProto
except ImportError:  # pragma: no cover - message for humans
    sys.stderr.write(
        "error: the 'onnx' module is missing. Use Debian's /usr/bin/python3 with\n"
        "       python3-onnx and python3-numpy (tools/reference/setup.sh installs them).\n")
    raise SystemExit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODEL_FILE = "model_q4_w16.onnx"


def model_dir():
    """KOKORO_MODEL_DIR, else ../shared/models/kokoro-82m-v1.0 from the repo root."""
    d = os.environ.get("KOKORO_MODEL_DIR")
    if d:
        return d
    return os.path.normpath(os.path.join(REPO, "..", "shared", "models", "kokoro-82m-v1.0"))


def default_model_path():
    return os.path.join(model_dir(), MODEL_FILE)


def load(path=None):
    return onnx.load(path or default_model_path())


# --------------------------------------------------------------------------
# Modules.  Order matters: the first matching rule wins.  Each rule is
# (module key, regex on the node name).  Cast nodes that decode float16
# weights are named '<initializer>__cast'; they are assigned through the
# initializer name rules (INIT_RULES) instead.
# --------------------------------------------------------------------------
NODE_RULES = [
    ("bert.embeddings", r"^/encoder/bert/embeddings/"),
    ("bert.layers", r"^/encoder/bert/encoder/"),
    ("bert.mask", r"^/encoder/bert/"),
    ("bert_encoder", r"^/encoder/bert_encoder/"),
    ("predictor.text_encoder", r"^/encoder/predictor/text_encoder/"),
    ("predictor.lstm", r"^/encoder/predictor/lstm/"),
    ("predictor.duration", r"^/encoder/predictor/(duration_proj/|Sigmoid|ReduceSum)"),
    ("text_encoder", r"^/encoder/text_encoder/"),
    ("alignment", r"^/encoder/(Div|Round|Clip|Cast|Gather|CumSum|Slice_1|Unsqueeze|Range|Concat|Less|GreaterOrEqual|And|MatMul|Transpose(_1)?$)"),
    ("predictor.shared_lstm", r"^/encoder/(shared/|Transpose_2$)"),
    ("predictor.F0", r"^/encoder/(F0\.|F0_proj|Squeeze$|Reshape$)"),
    ("predictor.N", r"^/encoder/(N\.|N_proj|Squeeze_1$|Reshape_1$)"),
    ("style_split", r"^/(encoder|decoder)/Slice$"),
    ("decoder.prologue", r"^/decoder/decoder/(asr_res|F0_conv|N_conv|Unsqueeze|Concat$)"),
    ("decoder.encode", r"^/decoder/decoder/encode/"),
    ("decoder.decode.0", r"^/decoder/decoder/(decode\.0/|Concat_1$)"),
    ("decoder.decode.1", r"^/decoder/decoder/(decode\.1/|Concat_2$)"),
    ("decoder.decode.2", r"^/decoder/decoder/(decode\.2/|Concat_3$)"),
    ("decoder.decode.3", r"^/decoder/decoder/(decode\.3/|Concat_4$)"),
    ("generator.source", r"^/decoder/decoder/generator/(m_source/|f0_upsamp/|Transpose(_1)?$|Squeeze$|Reshape$|Concat$|Unsqueeze_2$|Shape_1$|Gather_1$)"),
    ("generator.har_stft", r"^/decoder/decoder/generator/(Pad$|Reshape_3|STFT|Transpose_3|Gather_[2-5]$|Shape_2|Unsqueeze_[34]$|Concat_2$|Pow|Div$|Greater$|Less$|Add$|Add_1$|Sub$|Atan|Sqrt$|Where|Concat_3$)"),
    ("generator.noise_convs", r"^/decoder/decoder/generator/noise_convs\."),
    ("generator.noise_res.0", r"^/decoder/decoder/generator/noise_res\.0/"),
    ("generator.noise_res.1", r"^/decoder/decoder/generator/noise_res\.1/"),
    ("generator.stage1", r"^/decoder/decoder/generator/(LeakyRelu$|ups\.0/|Mul$|Add_2$|resblocks\.[012]/|Add_[34]$|Div_2$)"),
    ("generator.stage2", r"^/decoder/decoder/generator/(LeakyRelu_1$|ups\.1/|Mul_1$|reflection_pad/|Add_5$|resblocks\.[345]/|Add_[67]$|Div_4$)"),
    ("generator.conv_post", r"^/decoder/decoder/generator/(LeakyRelu_2$|conv_post/|Mul_2$|Slice_[12]$|Exp$|Sin$)"),
    ("generator.istft", r"^(/decoder/decoder/generator/istft/|/decoder/Gather$|/decoder/Reshape$|Gather_\d+$|Range_\d+$|Reshape_\d+$|Shape_\d+$)"),
]

INIT_RULES = [
    ("bert.embeddings", r"^encoder\.bert\.embeddings\."),
    ("bert.layers", r"^encoder\.bert\.encoder\."),
    ("predictor.text_encoder", r"^encoder\.predictor\.text_encoder\."),
    ("predictor.duration", r"^encoder\.predictor\.duration_proj"),
    ("predictor.F0", r"^encoder\.predictor\.(F0\.|F0_proj)"),
    ("predictor.N", r"^encoder\.predictor\.(N\.|N_proj)"),
    ("text_encoder", r"^encoder\.text_encoder\."),
    ("decoder.encode", r"^decoder\.decoder\.encode\."),
    ("decoder.decode.0", r"^decoder\.decoder\.decode\.0\."),
    ("decoder.decode.1", r"^decoder\.decoder\.decode\.1\."),
    ("decoder.decode.2", r"^decoder\.decoder\.decode\.2\."),
    ("decoder.decode.3", r"^decoder\.decoder\.decode\.3\."),
    ("generator.noise_convs", r"^decoder\.decoder\.generator\.noise_convs\."),
    ("generator.noise_res.0", r"^decoder\.decoder\.generator\.noise_res\.0\."),
    ("generator.noise_res.1", r"^decoder\.decoder\.generator\.noise_res\.1\."),
    ("generator.stage1", r"^decoder\.decoder\.generator\.resblocks\.[012]\."),
    ("generator.stage2", r"^decoder\.decoder\.generator\.resblocks\.[345]\."),
    ("decoder.prologue", r"^decoder\.decoder\.(asr_res|F0_conv|N_conv)"),
]

MODULE_ORDER = [r[0] for r in NODE_RULES] + ["other"]


def node_module(node):
    name = node.name
    if node.op_type == "Cast" and name.endswith("__cast"):
        # weight decode: module of the consumer is more useful, but fall back
        # to the initializer name.
        base = name[: -len("__cast")]
        for key, rx in INIT_RULES:
            if re.search(rx, base):
                return key
        for key, rx in NODE_RULES:
            if re.search(rx, base):
                return key
        return "weights"
    for key, rx in NODE_RULES:
        if re.search(rx, name):
            return key
    return "other"


# --------------------------------------------------------------------------
# Element types
# --------------------------------------------------------------------------
BOOL_OPS = {"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Not"}


def elem_types(model):
    """Best-effort element type of every tensor (TensorProto enum)."""
    g = model.graph
    t = {}
    for i in g.input:
        t[i.name] = i.type.tensor_type.elem_type
    for i in g.initializer:
        t[i.name] = i.data_type
    for n in g.node:
        op = n.op_type
        ins = [x for x in n.input]
        first = next((t.get(x) for x in ins if x), None)
        if op == "Shape" or op == "NonZero" or op == "Size":
            out = TensorProto.INT64
        elif op == "Cast":
            out = helper.get_attribute_value(next(a for a in n.attribute if a.name == "to"))
        elif op == "Constant":
            a = n.attribute[0]
            out = a.t.data_type if a.name == "value" else (
                TensorProto.INT64 if a.name.startswith("value_int") else TensorProto.FLOAT)
        elif op == "ConstantOfShape":
            a = [a for a in n.attribute if a.name == "value"]
            out = a[0].t.data_type if a else TensorProto.FLOAT
        elif op in BOOL_OPS:
            out = TensorProto.BOOL
        elif op == "Where":
            out = t.get(ins[1])
        elif op == "Gather" or op == "GatherElements" or op == "GatherND":
            out = t.get(ins[0])
        elif op in ("MatMulNBits", "LSTM", "STFT"):
            out = TensorProto.FLOAT
        else:
            out = first
        for o in n.output:
            if o:
                t[o] = out if out is not None else TensorProto.FLOAT
    return t


def is_float(tp):
    return tp in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE)


def dtype_name(tp):
    try:
        return TensorProto.DataType.Name(tp).lower()
    except Exception:
        return str(tp)


def initializer_map(model):
    return {i.name: i for i in model.graph.initializer}


def f16_sources(model):
    """Map decoded-weight name -> its float16 initializer name, for '__cast' nodes."""
    inits = initializer_map(model)
    m = {}
    for n in model.graph.node:
        if n.op_type == "Cast" and n.name.endswith("__cast") and n.input[0] in inits:
            m[n.output[0]] = n.input[0]
    return m


def attrs_str(node):
    parts = []
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, TensorProto):
            arr = numpy_helper.to_array(v)
            v = "tensor%s%s" % (list(arr.shape), arr.tolist() if arr.size <= 8 else "")
        elif isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, float):
            v = repr(v)
        parts.append("%s=%s" % (a.name, v))
    return " ".join(parts)


def assign_modules(model):
    """node name -> module key; weight-decode Cast nodes go to their first consumer's module."""
    g = model.graph
    mod = {}
    consumers = {}
    for n in g.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    for n in g.node:
        if n.op_type == "Cast" and n.name.endswith("__cast"):
            cs = [c for c in consumers.get(n.output[0], []) if not c.name.endswith("__cast")]
            if cs:
                mod[n.name] = node_module(cs[0])
                continue
        mod[n.name] = node_module(n)
    return mod


def load_dump(d):
    """A dump directory of ort_run.js --dump-dir (or kk-forward's): its
    index (dict) and a function giving a tensor by name (without the
    "_output_0" suffix) as a numpy array."""
    import json
    import os

    import numpy as np

    with open(os.path.join(d, "index.json")) as f:
        ix = json.load(f)
    tens = {t["name"].replace("_output_0", ""): t for t in ix["tensors"]}

    def get(n):
        t = tens[n]
        dt = {"float32": np.float32, "int64": np.int64}[t["dtype"]]
        return np.fromfile(os.path.join(d, t["file"]), dtype=dt).reshape(t["shape"])

    return ix, get

