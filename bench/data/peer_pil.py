"""PIL + torchvision peer for `pnpm bench data`: the same image folder decoded and resized to SIZE x SIZE
(Resize(SIZE) + CenterCrop(SIZE), i.e. our 'crop' mode) into uint8 tensors through a DataLoader with WORKERS worker
processes, as a PyTorch user writes it. One configuration per process; prints one JSON object.

    /usr/bin/python3 peer_pil.py <root> <size> <workers> <warmup-images>

With workers > 0 the loader keeps its workers (persistent_workers) and a first, untimed epoch starts them, so the
timed epoch pays neither process start-up nor imports; with 0 workers an untimed pass over the first
<warmup-images> images warms the decoder. CPU time per image is reported for 0 workers only (worker processes'
CPU time is not visible to the parent while they live).
"""
import json
import sys
import time

import PIL
import torch
import torchvision
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms


def epoch(loader) -> int:
    seen = 0
    for images, _labels in loader:
        seen += images.shape[0]
    return seen


def main() -> None:
    root, size, workers, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    transform = transforms.Compose(
        [transforms.Resize(size), transforms.CenterCrop(size), transforms.PILToTensor()]
    )
    dataset = datasets.ImageFolder(root, transform=transform)
    options = {"batch_size": 256, "shuffle": False, "num_workers": workers}
    if workers > 0:
        loader = DataLoader(dataset, persistent_workers=True, **options)
        epoch(loader)
    else:
        loader = DataLoader(dataset, **options)
        epoch(DataLoader(Subset(dataset, range(min(warmup, len(dataset)))), **options))
    cpu_start = time.process_time()
    start = time.perf_counter()
    seen = epoch(loader)
    seconds = time.perf_counter() - start
    if seen != len(dataset):
        raise SystemExit(f"the loader yielded {seen} images of {len(dataset)}")
    sample = {"imagesPerSecond": seen / seconds}
    if workers == 0:
        sample["cpuMsPerImage"] = (time.process_time() - cpu_start) * 1000 / seen
    print(json.dumps({
        "sample": sample,
        "engine": f"PIL {PIL.__version__} + torchvision {torchvision.__version__}",
        "images": len(dataset),
    }))


if __name__ == "__main__":
    main()
