#!/usr/bin/python3
"""Write a float32 variant of the model, shaped like the published
onnx/model.onnx: every float16-stored weight decoded (no Cast nodes), and
every 4-bit MatMulNBits node replaced by a plain MatMul named without the
"_Q4" suffix, its B the dequantised weight [K, N]. The numbers are the same
as the 4-bit file's, so our engine must give bit-identical audio on both:
the test tools/reference/variant_test.sh checks that.

    /usr/bin/python3 tools/reference/make_variant.py IN.onnx OUT.onnx

OUT must be outside the repository (it is model data).
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    m = onnx.load(sys.argv[1])
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    # decode X__f16 behind Cast X__cast
    casts = {}
    for n in g.node:
        if n.op_type == "Cast" and n.input[0].endswith("__f16") and n.input[0] in inits:
            casts[n.output[0]] = n
    for out, n in casts.items():
        a = numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
        g.initializer.remove(inits[n.input[0]])
        del inits[n.input[0]]
        t = numpy_helper.from_array(a, out)
        g.initializer.append(t)
        inits[out] = t
        g.node.remove(n)
    new_nodes = []
    shared = {}  # one float weight per 4-bit B (ALBERT's 12 passes share theirs)
    for n in g.node:
        if n.op_type != "MatMulNBits":
            new_nodes.append(n)
            continue
        name = n.name[:-3] if n.name.endswith("_Q4") else n.name
        if n.input[1] in shared:
            new_nodes.append(helper.make_node("MatMul", [n.input[0], shared[n.input[1]]], list(n.output), name=name))
            continue
        at = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        K, N, bs = at["K"], at["N"], at["block_size"]
        q = numpy_helper.to_array(inits[n.input[1]])  # [N, nb, bs/2]
        sc = numpy_helper.to_array(inits[n.input[2]]).astype(np.float32).reshape(N, -1)
        nib = np.stack([q & 15, q >> 4], axis=-1).reshape(N, -1)[:, :K].astype(np.float32)
        zp = np.float32(8)
        w = (nib - zp) * np.repeat(sc, bs, axis=1)[:, :K]  # [N, K]
        wname = name + "/weight"
        shared[n.input[1]] = wname
        g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w.T.astype(np.float32)), wname))
        new_nodes.append(helper.make_node("MatMul", [n.input[0], wname], list(n.output), name=name))
    del g.node[:]
    g.node.extend(new_nodes)
    used = {i for n in g.node for i in n.input}
    for t in list(g.initializer):
        if t.name not in used and t.name not in {o.name for o in g.output}:
            g.initializer.remove(t)
    onnx.save(m, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
