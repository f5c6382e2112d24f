#!/usr/bin/python3
"""Write a copy of the Kokoro ONNX graph with intermediate tensors as extra outputs.

    /usr/bin/python3 tools/reference/expose.py [--model IN] --out OUT.onnx
        [--preset NAME]... [--tensor NAME]... [--pattern REGEX]... [--list-presets]

The copy is for ort_run.js (`--model OUT.onnx --dump-dir DIR`), which then
writes every output as a raw file plus index.json.  Write OUT outside git
(build/ or /tmp): it holds the model weights and must never be committed.

Selection (all may be repeated and combined):
  --preset NAME   a named set of module boundaries, see --list-presets;
                  'all' exposes every float tensor of the graph (large!).
  --tensor NAME   an exact tensor name; the '_output_0' suffix may be left out.
  --pattern RX    every float tensor produced by a node whose *node name*
                  matches the regex (Python re.search), e.g. 'generator/ups\\.0/'.
  --module KEY    every float tensor produced inside a module of
                  kokoro_graph.NODE_RULES (e.g. generator.stage1).

Extra outputs are declared with their element type and no shape (ONNX Runtime
accepts that); the original 'waveform' output stays first.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kokoro_graph as kg  # noqa: E402
from onnx import helper, TensorProto  # noqa: E402

ALB = "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/"
G = "/decoder/decoder/generator/"
D = "/decoder/decoder/"
P = "/encoder/predictor/"

# Each entry: preset -> list of tensor names (without the _output_0 suffix).
PRESETS = {
    "bert": [
        "/encoder/bert/embeddings/LayerNorm/LayerNormalization",
        "/encoder/bert/encoder/embedding_hidden_mapping_in/Add",
        ALB + "full_layer_layer_norm/LayerNormalization",
    ] + [ALB + "full_layer_layer_norm_%d/LayerNormalization" % i for i in range(1, 12)],
    "bert_encoder": ["/encoder/bert_encoder/Add"],
    "predictor_text_encoder": [
        P + "text_encoder/lstms.0/Transpose_2", P + "text_encoder/lstms.1/Add_2",
        P + "text_encoder/lstms.2/Transpose_2", P + "text_encoder/lstms.3/Add_2",
        P + "text_encoder/lstms.4/Transpose_2", P + "text_encoder/lstms.5/Add_2",
        P + "text_encoder/Concat_4",
    ],
    "predictor_lstm": [P + "lstm/Transpose_2"],
    "duration": [
        P + "duration_proj/linear_layer/Add", P + "Sigmoid", P + "ReduceSum",
        "/encoder/Div", "/encoder/Round", "/encoder/Cast", "/encoder/CumSum", "/encoder/Cast_4",
    ],
    "alignment": ["/encoder/Cast", "/encoder/Cast_4", "/encoder/MatMul", "/encoder/MatMul_1"],
    "shared_lstm": ["/encoder/Transpose_2"],
    "F0": ["/encoder/F0.0/Div_2", "/encoder/F0.1/Div_4", "/encoder/F0.2/Div_2",
           "/encoder/F0_proj/Conv", "/encoder/Reshape"],
    "N": ["/encoder/N.0/Div_2", "/encoder/N.1/Div_4", "/encoder/N.2/Div_2",
          "/encoder/N_proj/Conv", "/encoder/Reshape_1"],
    "text_encoder": [
        "/encoder/text_encoder/cnn.0/cnn.0.2/LeakyRelu", "/encoder/text_encoder/cnn.1/cnn.0.2/LeakyRelu",
        "/encoder/text_encoder/cnn.2/cnn.0.2/LeakyRelu", "/encoder/text_encoder/Transpose_2",
        "/encoder/MatMul_1",
    ],
    "decoder": [
        D + "asr_res/asr_res.0/Conv", D + "F0_conv/Conv", D + "N_conv/Conv",
        D + "encode/Div_3", D + "decode.0/Div_3", D + "decode.1/Div_3", D + "decode.2/Div_3",
        D + "decode.3/Div_4",
    ],
    "source": [
        G + "f0_upsamp/Resize", G + "m_source/l_sin_gen/Sub", G + "m_source/l_sin_gen/CumSum",
        G + "m_source/l_sin_gen/Resize_1", G + "m_source/l_sin_gen/Cast", G + "m_source/l_sin_gen/Mul_6",
        G + "m_source/l_tanh/Tanh", G + "STFT", G + "Sqrt", G + "Where_1", G + "Concat_3",
    ],
    "generator": [
        G + "ups.0/ConvTranspose", G + "noise_convs.0/Conv", G + "noise_res.0/Add_8", G + "Add_2",
        G + "resblocks.0/Add_8", G + "resblocks.1/Add_8", G + "resblocks.2/Add_8", G + "Div_2",
        G + "ups.1/ConvTranspose", G + "reflection_pad/Pad", G + "noise_convs.1/Conv",
        G + "noise_res.1/Add_8", G + "Add_5",
        G + "resblocks.3/Add_8", G + "resblocks.4/Add_8", G + "resblocks.5/Add_8", G + "Div_4",
    ],
    "conv_post": [G + "conv_post/Conv", G + "Exp", G + "Sin"],
    "istft": [G + "istft/stft/ConvTranspose", G + "istft/stft/ScatterND", G + "istft/stft/Mul_4"],
}
PRESETS["modules"] = sorted({t for k, v in PRESETS.items() for t in v})

PRESET_HELP = {
    "bert": "ALBERT embeddings LayerNorm, 128->768 mapping, the output of each of the 12 layer passes",
    "bert_encoder": "Linear 768->512 after ALBERT ([1,T,512])",
    "predictor_text_encoder": "duration encoder: LSTM outputs and AdaLayerNorm outputs, final d [1,T,640]",
    "predictor_lstm": "prosody predictor BiLSTM output [1,T,512]",
    "duration": "duration_proj logits, sigmoid, sum, /speed, Round, int64 durations, cumsum, alignment",
    "alignment": "int64 durations, alignment matrix [T,L], aligned d (en) and aligned t_en (asr)",
    "shared_lstm": "F0/N shared BiLSTM output [1,512,L]",
    "F0": "F0 AdaIN blocks 0,1 (upsampling),2, F0_proj, F0 curve [1,2L]",
    "N": "energy blocks as for F0, N curve [1,2L]",
    "text_encoder": "text encoder CNN blocks, BiLSTM output t_en [1,512,T], aligned asr [1,512,L]",
    "decoder": "asr_res, F0_conv, N_conv, encode block, decode blocks 0..3",
    "source": "harmonic source: upsampled F0, phase increments, cumsum, upsampled phase, uv, sines, tanh(linear), STFT, magnitude, phase, har [1,22,F]",
    "generator": "ups.0/1, noise_convs, noise_res, resblock outputs and averages, reflection pad",
    "conv_post": "conv_post output [1,22,F], exp(magnitude), sin(phase)",
    "istft": "ConvTranspose overlap-add, window-sum fix-up (ScatterND), x4 scaling",
    "modules": "union of all presets above",
    "all": "every float tensor in the graph (thousands of outputs; use short inputs)",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="input model (default: $KOKORO_MODEL_DIR/model_q4_w16.onnx)")
    ap.add_argument("--out", help="output .onnx path (outside git: build/ or /tmp)")
    ap.add_argument("--preset", action="append", default=[])
    ap.add_argument("--tensor", action="append", default=[])
    ap.add_argument("--pattern", action="append", default=[])
    ap.add_argument("--module", action="append", default=[])
    ap.add_argument("--list-presets", action="store_true")
    ap.add_argument("--print", action="store_true", help="print the chosen tensor names")
    args = ap.parse_args()

    if args.list_presets:
        for k in list(PRESETS) + ["all"]:
            print("%-24s %s" % (k, PRESET_HELP.get(k, "")))
        return 0
    if not args.out:
        ap.error("--out is required")

    model = kg.load(args.model)
    g = model.graph
    types = kg.elem_types(model)
    produced = {}
    for n in g.node:
        for o in n.output:
            if o:
                produced[o] = n
    mods = kg.assign_modules(model)

    def resolve(name):
        for cand in (name, name + "_output_0"):
            if cand in produced:
                return cand
        sys.stderr.write("error: no tensor named %r (nor %r) in the graph\n" % (name, name + "_output_0"))
        sys.exit(2)

    def is_weight_decode(n):
        return n.op_type == "Cast" and n.name.endswith("__cast")

    chosen = []
    for p in args.preset:
        if p == "all":
            for n in g.node:
                if is_weight_decode(n):
                    continue
                chosen += [o for o in n.output if o and kg.is_float(types.get(o))]
        elif p in PRESETS:
            chosen += [resolve(t) for t in PRESETS[p]]
        else:
            sys.stderr.write("error: unknown preset %r (see --list-presets)\n" % p)
            return 2
    chosen += [resolve(t) for t in args.tensor]
    for rx in args.pattern:
        r = re.compile(rx)
        hits = [o for n in g.node if r.search(n.name) and not is_weight_decode(n)
                for o in n.output if o and kg.is_float(types.get(o))]
        if not hits:
            sys.stderr.write("error: pattern %r matches no node producing a float tensor\n" % rx)
            return 2
        chosen += hits
    for m in args.module:
        hits = [o for n in g.node if mods[n.name] == m and not is_weight_decode(n)
                for o in n.output if o and kg.is_float(types.get(o))]
        if not hits:
            sys.stderr.write("error: module %r has no float tensors\n" % m)
            return 2
        chosen += hits
    if not chosen:
        ap.error("nothing selected: give --preset, --tensor, --pattern or --module")

    existing = {o.name for o in g.output}
    seen = set()
    added = []
    for t in chosen:
        if t in existing or t in seen:
            continue
        seen.add(t)
        vi = helper.make_tensor_value_info(t, types.get(t) or TensorProto.FLOAT, None)
        g.output.append(vi)
        added.append(t)
    if args.print:
        for t in added:
            print(t)
    out = os.path.abspath(args.out)
    if out.startswith(kg.REPO + os.sep):
        # the copy holds the model weights: refuse a path git would pick up
        import subprocess
        r = subprocess.run(["git", "-C", kg.REPO, "check-ignore", "-q", out])
        if r.returncode == 1:
            sys.stderr.write("error: %s is inside the repository and not git-ignored; write to build/ or /tmp\n" % out)
            return 2
    d = os.path.dirname(out)
    if d:
        os.makedirs(d, exist_ok=True)
    kg.onnx.save(model, out)
    sys.stderr.write("expose: wrote %s with %d extra outputs\n" % (out, len(added)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
