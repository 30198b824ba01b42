"""PyTorch peer of `pnpm bench train`: createCnn's network in PyTorch, measured the way the TypeScript side is.

One configuration per process (the parent starts one per configuration per round):

    /usr/bin/python3 torch_train.py --threads 2 --layout channels_last --protocol '<json>'
    /usr/bin/python3 torch_train.py --describe

The BLAS library is chosen by the parent through LD_LIBRARY_PATH; this script reports which one it loaded so the
parent can check the row's label. Prints one JSON object on stdout. Run with Debian's python3 (python3-torch).
"""
import argparse
import ctypes
import json
import math
import os
import time

import torch
from torch import nn


def create_cnn() -> nn.Sequential:
    """The network of @tfmlops/model's createCnn({ inputShape: [28, 28, 1], numClasses: 10 })."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
    )


KINDS = {nn.Conv2d: "conv2d", nn.MaxPool2d: "maxpool2d", nn.Flatten: "flatten", nn.Linear: "linear"}


def describe(model: nn.Sequential) -> dict:
    """Layers in the bench's common description: ReLU folded into the layer before it, NCHW output shapes."""
    layers = []
    x = torch.zeros(1, 1, 28, 28)
    with torch.no_grad():
        for module in model:
            x = module(x)
            if isinstance(module, nn.ReLU):
                layers[-1]["kind"] += "+relu"
                continue
            layers.append({
                "kind": KINDS[type(module)],
                "output": list(x.shape[1:]),
                "parameters": [list(p.shape) for p in module.parameters(recurse=False)],
            })
    return {"layers": layers, "parameterCount": sum(p.numel() for p in model.parameters())}


def blas_library() -> str:
    """The file behind libblas.so.3 in this process (torch's BLAS for Linear layers), symlinks resolved."""

    class DlInfo(ctypes.Structure):
        _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                    ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]

    try:
        blas = ctypes.CDLL("libblas.so.3")
        info = DlInfo()
        ctypes.CDLL("libc.so.6").dladdr(ctypes.cast(blas.sgemm_, ctypes.c_void_p), ctypes.byref(info))
        return os.path.realpath(info.fname.decode())
    except (OSError, AttributeError):
        return "unknown"


def percentile(values, p):
    """Nearest rank, as bench/lib/stats.ts defines it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def images_per_second(run, calls, images_per_call):
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return calls * images_per_call / (time.perf_counter() - start)


def inference(model, fmt, protocol, context, batches=(256, 64)):
    """Throughput at `batches` and single-image latency under `context` (inference_mode or no_grad)."""
    figures = {}
    calls_for = {256: protocol["inferRuns"], 64: protocol["inferRuns"] * 4}
    with context():
        for batch in batches:
            calls = calls_for[batch]
            data = torch.rand(batch, 1, 28, 28).contiguous(memory_format=fmt)
            # .numpy() reads the result, as dataSync() does on the TypeScript side.
            run = lambda: model(data).numpy()  # noqa: E731
            for _ in range(protocol["inferWarmup"]):
                run()
            figures[batch] = images_per_second(run, calls, batch)
        one = torch.rand(1, 1, 28, 28).contiguous(memory_format=fmt)
        for _ in range(protocol["latencyWarmup"]):
            model(one).numpy()
        latencies = []
        for _ in range(protocol["latencyRuns"]):
            start = time.perf_counter()
            model(one).numpy()
            latencies.append((time.perf_counter() - start) * 1000)
    return figures, percentile(latencies, 0.5), percentile(latencies, 0.99)


def measure(threads: int, layout: str, protocol: dict) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = create_cnn().to(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    batch = protocol["batch"]
    xs = torch.rand(batch, 1, 28, 28).contiguous(memory_format=fmt)
    ys = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs), ys)
        loss.backward()
        optimizer.step()
        return loss.item()

    model.train()
    for _ in range(protocol["warmupSteps"]):
        step()
    train = images_per_second(step, protocol["trainSteps"], batch)

    model.eval()
    best, p50, p99 = inference(model, fmt, protocol, torch.inference_mode)
    no_grad, ng50, ng99 = inference(model, fmt, protocol, torch.no_grad, batches=(256,))
    return {
        "sample": {
            "trainImagesPerSecond": train,
            "inferImagesPerSecond": best[256],
            "inferBatch64ImagesPerSecond": best[64],
            "latencyP50Ms": p50,
            "latencyP99Ms": p99,
            "noGrad": {"inferImagesPerSecond": no_grad[256], "latencyP50Ms": ng50, "latencyP99Ms": ng99},
        },
        "threadsInUse": torch.get_num_threads(),
        "torchVersion": torch.__version__,
        "blasLibrary": blas_library(),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--describe", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--layout", choices=["contiguous", "channels_last"], default="contiguous")
    parser.add_argument("--protocol", type=json.loads)
    args = parser.parse_args()
    if args.describe:
        print(json.dumps({"network": describe(create_cnn()), "torchVersion": torch.__version__}))
        return
    print(json.dumps(measure(args.threads, args.layout, args.protocol)))


if __name__ == "__main__":
    main()
