#!/usr/bin/python3
"""Print the facts of the Kokoro-82M ONNX graph that a C implementer needs.

    /usr/bin/python3 tools/reference/graph_summary.py [--model PATH]
        [--module KEY] [--all] [--shapes INDEX.json] [--no-nodes]

Sections: the op histogram; per module (see kokoro_graph.NODE_RULES) its op
counts, its float compute nodes in graph order (inputs -> outputs, attributes),
and the initializers it reads (dtype, shape; float16-stored weights are shown
with the Cast node that decodes them; small constants with their values;
MatMulNBits weights with K, N, bits, block_size and zero-point presence).

--all       also list integer/boolean shape plumbing nodes (Shape, Gather on
            shapes, Unsqueeze, ...), which are hidden by default.
--shapes F  annotate tensors with shapes from an ort_run.js index.json, e.g.
            after `expose.py --preset all`.
"""

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kokoro_graph as kg  # noqa: E402
from onnx import numpy_helper, TensorProto  # noqa: E402


def short(name):
    return name.replace("_output_0", "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--module", action="append", default=None, help="only these modules (prefix match)")
    ap.add_argument("--all", action="store_true", help="include int/bool shape plumbing nodes")
    ap.add_argument("--shapes", default=None, help="index.json written by ort_run.js --dump-dir")
    ap.add_argument("--no-nodes", action="store_true", help="only histograms and initializers")
    args = ap.parse_args()

    model = kg.load(args.model)
    g = model.graph
    inits = kg.initializer_map(model)
    f16 = kg.f16_sources(model)
    types = kg.elem_types(model)
    shapes = {}
    if args.shapes:
        with open(args.shapes) as f:
            for e in json.load(f)["tensors"]:
                shapes[e["name"]] = e["shape"]

    print("# model: %s" % (args.model or kg.default_model_path()))
    print("# ir_version %d, opsets %s, producer %s %s" % (
        model.ir_version, ", ".join("%s:%d" % (o.domain or "ai.onnx", o.version) for o in model.opset_import),
        model.producer_name, model.producer_version))
    for i in g.input:
        dims = [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        print("# input  %s %s %s" % (i.name, kg.dtype_name(i.type.tensor_type.elem_type), dims))
    for o in g.output:
        dims = [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
        print("# output %s %s %s" % (o.name, kg.dtype_name(o.type.tensor_type.elem_type), dims))
    mods = kg.assign_modules(model)
    print("# %d nodes, %d initializers (%d float16-stored, decoded by '__cast' Cast nodes)" % (
        len(g.node), len(g.initializer), len(f16)))
    print()
    print("## op histogram")
    hist = collections.Counter(n.op_type for n in g.node)
    for op, c in hist.most_common():
        print("%6d %s" % (c, op))
    print()

    by_mod = collections.OrderedDict((k, []) for k in kg.MODULE_ORDER + ["weights"])
    for n in g.node:
        by_mod.setdefault(mods[n.name], []).append(n)

    print("## modules (node counts; weight-decode Cast nodes counted with their module)")
    for k, nodes in by_mod.items():
        if nodes:
            print("%6d %s" % (len(nodes), k))
    print()

    def wshape(x):
        t = inits.get(f16.get(x, x))
        return list(t.dims) if t is not None else "?"

    def attr(n, key, default=None):
        for a in n.attribute:
            if a.name == key:
                return kg.helper.get_attribute_value(a)
        return default

    print("## weight-bearing ops (module, op, node, weight shape, attributes)")
    print("#  Conv weight [C_out, C_in/group, K]; ConvTranspose weight [C_in, C_out/group, K];")
    print("#  LSTM W [dirs, 4*H, In], R [dirs, 4*H, H], B [dirs, 8*H] (gate order i,o,f,c);")
    print("#  Gemm: y = x W^T + b (transB=1), W [out, in]; MatMulNBits B [N, K/32, 16] uint8.")
    for n in g.node:
        if n.op_type not in ("Conv", "ConvTranspose", "LSTM", "Gemm", "MatMulNBits", "LayerNormalization"):
            continue
        m = mods[n.name]
        if n.op_type in ("Conv", "ConvTranspose"):
            extra = "k=%s stride=%s pad=%s dil=%s group=%s%s bias=%s" % (
                attr(n, "kernel_shape"), attr(n, "strides"), attr(n, "pads"), attr(n, "dilations"),
                attr(n, "group", 1),
                (" output_padding=%s" % attr(n, "output_padding")) if attr(n, "output_padding") else "",
                "yes" if len(n.input) > 2 and n.input[2] else "no")
            w = wshape(n.input[1])
        elif n.op_type == "LSTM":
            extra = "hidden=%s direction=%s W=%s R=%s B=%s" % (
                attr(n, "hidden_size"), attr(n, "direction", b"forward").decode()
                if isinstance(attr(n, "direction"), bytes) else attr(n, "direction"),
                wshape(n.input[1]), wshape(n.input[2]), wshape(n.input[3]))
            w = short(n.input[1])
        elif n.op_type == "Gemm":
            extra = "transB=%s" % attr(n, "transB", 0)
            w = wshape(n.input[1])
        elif n.op_type == "MatMulNBits":
            extra = "K=%s N=%s bits=%s block_size=%s zero_points=%s" % (
                attr(n, "K"), attr(n, "N"), attr(n, "bits"), attr(n, "block_size"),
                "yes" if len(n.input) > 3 and n.input[3] else "no(8)")
            w = wshape(n.input[1])
        else:
            extra = "axis=%s epsilon=%r" % (attr(n, "axis", -1), attr(n, "epsilon", 1e-5))
            w = wshape(n.input[1])
        print("  %-24s %-18s %s  w=%s  %s" % (m, n.op_type, short(n.name), w, extra))
    print()

    def tensor_desc(name):
        s = short(name)
        if name in shapes:
            s += str(shapes[name])
        return s

    def init_desc(name):
        src = f16.get(name)
        if src is not None:
            t = inits[src]
            return "%s float32%s (stored float16 as %s, decoded by Cast '%s__cast')" % (
                short(name), list(t.dims), short(src), name)
        t = inits[name]
        s = "%s %s%s" % (short(name), kg.dtype_name(t.data_type), list(t.dims))
        n = 1
        for d in t.dims:
            n *= d
        if n <= 9 and t.data_type != TensorProto.UINT8:
            try:
                s += " = %s" % numpy_helper.to_array(t).tolist()
            except Exception:
                pass
        return s

    for k, nodes in by_mod.items():
        if not nodes:
            continue
        if args.module and not any(k.startswith(m) for m in args.module):
            continue
        compute = [n for n in nodes if not (n.op_type == "Cast" and n.name.endswith("__cast"))]
        print("=" * 78)
        print("## module %s: %d nodes" % (k, len(nodes)))
        print("   ops: " + ", ".join("%s x%d" % (o, c) for o, c in collections.Counter(
            n.op_type for n in compute).most_common()))
        used = collections.OrderedDict()
        if not args.no_nodes:
            print("   nodes:")
        for n in compute:
            for x in n.input:
                if x in inits or x in f16:
                    used[x] = True
            outs_float = any(kg.is_float(types.get(o)) for o in n.output if o)
            if not args.all and not outs_float and k not in ("alignment", "generator.istft", "bert.mask"):
                continue
            if args.no_nodes:
                continue
            ins = []
            for x in n.input:
                if not x:
                    ins.append("<none>")
                elif x in inits or x in f16:
                    ins.append("@" + short(x))
                else:
                    ins.append(tensor_desc(x))
            line = "     %-18s %s (%s) -> (%s)" % (n.op_type, short(n.name), ", ".join(ins),
                                                   ", ".join(tensor_desc(o) for o in n.output))
            a = kg.attrs_str(n)
            if a:
                line += "  {" + a + "}"
            print(line)
        if used:
            print("   initializers read (@name):")
            for x in used:
                print("     " + init_desc(x))
            mnb = [n for n in compute if n.op_type == "MatMulNBits"]
            for n in mnb:
                at = {a.name: a for a in n.attribute}
                get = lambda key: kg.helper.get_attribute_value(at[key]) if key in at else None
                zp = len(n.input) > 3 and n.input[3] != ""
                def td(x):
                    t = inits[f16.get(x, x)]
                    return "%s%s%s" % (kg.dtype_name(t.data_type), list(t.dims),
                                       " (float16 stored, Cast to float32)" if x in f16 else "")
                print("     MatMulNBits %s: K=%s N=%s bits=%s block_size=%s B=%s scales=%s zero_points=%s" % (
                    short(n.name), get("K"), get("N"), get("bits"), get("block_size"),
                    td(n.input[1]), td(n.input[2]), "present" if zp else "absent (implicit 8)"))
        print()


if __name__ == "__main__":
    main()
