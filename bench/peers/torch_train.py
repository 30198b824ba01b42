"""PyTorch peer for `pnpm bench train`: the reference CNN, measured the same way as the TypeScript side.

Prints one JSON object on stdout. Run with Debian's python3 (python3-torch).
"""
import json
import sys
import time

import torch
from torch import nn

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
TRAIN_STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 30
BATCH = 64
INFER_BATCH = 256
LATENCY_RUNS = 200

torch.set_num_threads(THREADS)
torch.manual_seed(0)

model = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
xs = torch.rand(BATCH, 1, 28, 28)
ys = torch.randint(0, 10, (BATCH,))


def step():
    optimizer.zero_grad()
    loss = loss_fn(model(xs), ys)
    loss.backward()
    optimizer.step()
    return loss.item()


model.train()
for _ in range(3):
    step()
start = time.perf_counter()
for _ in range(TRAIN_STEPS):
    step()
train_seconds = time.perf_counter() - start

model.eval()
batch = torch.rand(INFER_BATCH, 1, 28, 28)
with torch.no_grad():
    for _ in range(3):
        model(batch)
    start = time.perf_counter()
    runs = 10
    for _ in range(runs):
        model(batch).numpy()
    infer_seconds = time.perf_counter() - start
    one = torch.rand(1, 1, 28, 28)
    for _ in range(10):
        model(one)
    latencies = []
    for _ in range(LATENCY_RUNS):
        t = time.perf_counter()
        model(one).numpy()
        latencies.append((time.perf_counter() - t) * 1000)
latencies.sort()

print(json.dumps({
    "engine": f"pytorch {torch.__version__} cpu, {THREADS} threads",
    "trainImagesPerSecond": TRAIN_STEPS * BATCH / train_seconds,
    "inferImagesPerSecond": runs * INFER_BATCH / infer_seconds,
    "latencyP50Ms": latencies[len(latencies) // 2],
    "latencyP99Ms": latencies[int(len(latencies) * 0.99) - 1],
}))
