#!/usr/bin/env python3
"""Markdown tables from mam_bench_libtorch's Google Benchmark JSON and --memory lines.

usage: bench_table.py BENCH_JSON [MEMORY_JSONL] > table.md

Pairs "mam/<op>/<shape>/threads:<t>" with "libtorch/<op>/<shape>/threads:<t>" and prints
each pair's real time (the fastest repetition when the run had repetitions: other jobs on a
shared machine only add time) and the ratio mam/LibTorch,
and the same against "libtorch_lean/..." where the run has it. Where the run has
"mam_bf16/..." (mam with MatmulPrecision::bfloat16, on CPUs with AMX) its time and ratio
against the same float32 LibTorch peer get two more columns, and with "libtorch_bf16/..."
(LibTorch under CPU autocast to bfloat16) two more: precision against equal precision.
"""
import json
import sys

# The targets for mam / LibTorch at 2 threads.
TARGETS = {
    ("energy_training_step", "D100_K2_H512_L4_B256"): 0.4,
    ("dual_mlp_forward_backward", "D100_K2_H512_L4_B256"): 0.7,
    ("chain_rule_likelihood", "D100_K2_H512_L4_B256"): 0.5,
    ("ancestral_sampling", "D100_K2_H512_L4_B256"): 0.5,
    ("energy_training_step", "D55_K40_H1024_L4_B256"): 0.3,
}
# The Transformer's: every shape of an operation at 2 threads.
OPERATION_TARGETS = {"transformer_forward_backward": 0.8, "transformer_sampling_pass": 0.6}


def times(report):
    """Real time in ms per benchmark name: the fastest repetition where there are
    repetitions, else the single run."""
    single, fastest = {}, {}
    for b in report["benchmarks"]:
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
        name = b["run_name"]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "min":
                fastest[name] = b["real_time"] * scale
        else:
            single.setdefault(name, b["real_time"] * scale)
    single.update(fastest)
    return single


def ratio_cells(time, peer, target, show_peer=False):
    """' time | ratio (verdict) |' cells of a mam time against a peer (its time first with
    show_peer); dashes where either is missing."""
    if time is None or peer is None:
        return " – | – |"
    verdict = "" if target is None else f" (≤ {target} {'met' if time / peer <= target else '**missed**'})"
    return f" {peer if show_peer else time:.2f} | **{time / peer:.2f}**{verdict} |"


def main():
    with open(sys.argv[1]) as f:
        report = json.load(f)
    t = times(report)
    ctx = report["context"]
    print(f"Run {ctx.get('date', '?')} on {ctx.get('host_name', '?')}: {ctx.get('num_cpus', '?')} CPUs "
          f"at {ctx.get('mhz_per_cpu', '?')} MHz, load average "
          f"{', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))}.\n")
    bf16 = any(name.startswith("mam_bf16/") for name in t)
    bf16_peer = any(name.startswith("libtorch_bf16/") for name in t)
    print("| operation | shape | threads | mam (ms) | LibTorch (ms) | mam / LibTorch | target "
          "| LibTorch lean (ms) | mam / lean |" + (" mam bf16 (ms) | mam bf16 / LibTorch |" if bf16 else "")
          + (" LibTorch bf16 (ms) | mam bf16 / LibTorch bf16 |" if bf16 and bf16_peer else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if bf16 else "")
          + ("---|---|" if bf16 and bf16_peer else ""))
    for name, mam_time in t.items():
        if not name.startswith("mam/"):
            continue
        rest = name[len("mam/"):]
        if "libtorch/" + rest not in t:
            continue
        peer = t["libtorch/" + rest]
        op, shape, threads = rest.split("/")[:3]
        threads = threads.split(":")[1]
        ratio = mam_time / peer
        target = TARGETS.get((op, shape), OPERATION_TARGETS.get(op)) if threads == "2" else None
        verdict = "" if target is None else f"≤ {target} {'met' if ratio <= target else '**missed**'}"
        lean = t.get("libtorch_lean/" + rest)
        lean_cells = "| – | – |" if lean is None else f"| {lean:.2f} | {mam_time / lean:.2f} |"
        bf16_cells = ""
        if bf16:
            bf16_time = t.get("mam_bf16/" + rest)
            bf16_cells = ratio_cells(bf16_time, peer, target)
            if bf16_peer:
                bf16_cells += ratio_cells(bf16_time, t.get("libtorch_bf16/" + rest), target, show_peer=True)
        print(f"| {op} | {shape} | {threads} | {mam_time:.2f} | {peer:.2f} | **{ratio:.2f}** | {verdict} {lean_cells}"
              + bf16_cells)
    if len(sys.argv) > 2:
        print("\n| peak memory of training steps (MLPs: energy-based; transformer_*: stage 1) | shape | threads | steps | "
              "peak RSS (MiB) | growth over the step (MiB) |")
        print("|---|---|---|---|---|---|")
        with open(sys.argv[2]) as f:
            for line in f:
                m = json.loads(line)
                print(f"| {m['side']} | {m['shape']} | {m['threads']} | {m['steps']} | "
                      f"{m['peak_rss_kib'] / 1024:.0f} | {m['step_peak_kib'] / 1024:.0f} |")


if __name__ == "__main__":
    main()
