"""The machine a benchmark ran on: CPU model, instruction sets, oneDNN's view of them.

Every benchmark prints this first, because MedSeg's ratios to PyTorch depend on the CPU (an
AVX2-only EPYC and an AVX-512 Xeon gave different figures) and must never be carried across.
"""
import os


def cpu_flags():
    """The first processor's model name and flag set from /proc/cpuinfo ('' and empty off Linux)."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
                if model and flags:
                    break
    except OSError:
        pass
    return model, flags


def isa_summary(flags):
    """'AVX2', 'AVX-512 (+BF16)', 'AVX-512 + AMX' ...: the widest vector and matrix units the CPU reports."""
    if "avx512f" in flags:
        isa = "AVX-512"
        if "avx512_bf16" in flags:
            isa += " (+BF16)"
    elif "avx2" in flags:
        isa = "AVX2"
    elif "avx" in flags:
        isa = "AVX"
    else:
        isa = "SSE"
    if "amx_tile" in flags:
        isa += " + AMX" + ("-BF16" if "amx_bf16" in flags else "")
    return isa


def onednn_cap():
    """oneDNN's ISA cap from the environment (ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA), or None."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")


def describe():
    """One line for a benchmark's header."""
    model, flags = cpu_flags()
    cores = os.cpu_count()
    line = f"machine: {model or 'unknown CPU'}; ISA {isa_summary(flags)}; {cores} logical CPU(s)"
    cap = onednn_cap()
    if cap:
        line += f"; oneDNN capped at {cap}"
    return line


if __name__ == "__main__":
    print(describe())
