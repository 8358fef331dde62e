"""Where an exported classifier's time goes, float32 against int8: onnxruntime's own profile of each model over the
872 SST-2 dev sentences (in `bertcli predict`'s own batches of 32), its nodes grouped as

    linear layers  the weight-matrix products that int8 quantizes (query, key, value, the dense layers, the
                   classifier) and, in the int8 graph, the quantizing of their inputs
    the rest       attention scores and weighted values, softmax, GELU, LayerNorm, embeddings, reshapes

int8's gain on the linear layers, the linear layers' share of the float32 model, and so int8's gain on the model
(Amdahl's law); then the whole model timed without the profiler. Each figure is the best of --repeats passes, the
two models taking turns (the machines here are shared and noisy). A pair is a float32 export and its int8 export
(`bertcli export MODEL OUT --format onnx [--int8]`); by default the students of distillation.py.

    python bench/studies/onnx_ops.py                                 # the 3 x 192 student and the teacher, if exported
    python bench/studies/onnx_ops.py --pair NAME FLOAT_DIR INT8_DIR  # any exported pair
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import STUDY_RESULTS, WORK, cpu, markdown, sst2_dev_sentences, write_results

LINEAR = re.compile(r"/(query|key|value|dense|classifier)/")
PRODUCTS = {"MatMul", "FusedMatMul", "Gemm", "FusedGemm"}
QUANTIZING = {"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger"}
PAIRS = {
    "3 x 192 student": "distill-3x192-transfer80k-prediction",
    "teacher (MiniLM, 6 x 384)": "sst2-teacher",
}


def batches(model_dir: Path, size: int = 32) -> list[dict]:
    """The dev sentences as `bertcli predict` feeds them to the exported model: its own encoding and batches."""
    from bertcli.predict.base import load_predictor

    predictor = load_predictor(str(model_dir), batch_size=size)
    features = predictor._encode(sst2_dev_sentences())
    return [predictor.model.feed(**batch) for _, batch in predictor._batches(features)]


def traced_pass(model_dir: Path, feeds: list[dict]) -> dict:
    """One pass over `feeds` under onnxruntime's profiler: milliseconds in the linear layers and in the rest."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(WORK / "onnx-ops-profile")
    session = onnxruntime.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
    for feed in feeds:
        session.run(None, feed)
    trace = Path(session.end_profiling())
    groups = {"linear_ms": 0.0, "rest_ms": 0.0}
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node":
            op = event["args"].get("op_name", "")
            linear = op in QUANTIZING or (op in PRODUCTS and LINEAR.search(event["name"]) is not None)
            groups["linear_ms" if linear else "rest_ms"] += event["dur"] / 1000
    trace.unlink()
    return groups


def timed_pass(session, feeds: list[dict]) -> float:
    start = time.perf_counter()
    for feed in feeds:
        session.run(None, feed)
    return time.perf_counter() - start


def profile(models: dict[str, Path], repeats: int) -> dict:
    """Each model's linear and other milliseconds (traced) and its wall time (untraced), the best of `repeats`
    passes each; the models take turns, pass by pass, so that a noisy neighbour slows them alike."""
    import onnxruntime

    feeds = {key: batches(d) for key, d in models.items()}
    plain = {
        key: onnxruntime.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
        for key, d in models.items()
    }
    passes = {key: [] for key in models}
    for _ in range(repeats):
        for key, d in models.items():
            passes[key].append({**traced_pass(d, feeds[key]), "wall_s": timed_pass(plain[key], feeds[key])})
    return {key: {k: min(p[k] for p in runs) for k in runs[0]} for key, runs in passes.items()}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", nargs=3, action="append", metavar=("NAME", "FLOAT_DIR", "INT8_DIR"))
    parser.add_argument("--repeats", type=int, default=5, help="passes over the dev set, each model; the best counts")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    pairs = [(n, Path(f), Path(i)) for n, f, i in args.pair or []] or [
        (name, WORK / f"{stem}-onnx", WORK / f"{stem}-onnx-int8")
        for name, stem in PAIRS.items()
        if (WORK / f"{stem}-onnx-int8" / "model.onnx").is_file()
    ]
    if not pairs:
        sys.exit("no exported pair: pass --pair NAME FLOAT_DIR INT8_DIR (run distillation.py first for the defaults)")
    results, rows = {}, []
    for name, float_dir, int8_dir in pairs:
        timings = profile({"float32": float_dir, "int8": int8_dir}, args.repeats)
        f, q = timings["float32"], timings["int8"]
        share = f["linear_ms"] / (f["linear_ms"] + f["rest_ms"])
        linear_gain = f["linear_ms"] / q["linear_ms"]
        results[name] = {"float32": f, "int8": q, "linear_share": share, "linear_gain": linear_gain}
        rows.append([
            name, f"{f['linear_ms']:.0f} / {f['rest_ms']:.0f}", f"{100 * share:.0f}%",
            f"{q['linear_ms']:.0f} / {q['rest_ms']:.0f}", f"{linear_gain:.2f}x",
            f"{1 / (1 - share + share / linear_gain):.2f}x", f"{f['wall_s']:.3f} / {q['wall_s']:.3f}",
            f"{f['wall_s'] / q['wall_s']:.2f}x",
        ])  # fmt: skip
    table = (
        "Exported classifiers over the 872 SST-2 dev sentences, float32 against int8 (onnxruntime's profile; "
        "CPU: {cpu}, int8 dot-product instructions: {int8_instructions})\n\n".format(**cpu())
    )
    header = ["model", "float32 ms: linear / rest", "linear share", "int8 ms: linear / rest", "int8 on linear"]
    table += markdown([*header, "int8 on the model, by Amdahl", "model s, float32 / int8", "int8 on the model"], rows)
    write_results("onnx_ops", results, table + "\n", folder=STUDY_RESULTS)


if __name__ == "__main__":
    main()
