"""PIL + torchvision peer for `pnpm bench data`: the same image folder, decoded and resized to SIZE x SIZE
(Resize(SIZE) + CenterCrop(SIZE), i.e. our 'crop' mode) into uint8 tensors, with a DataLoader of WORKERS worker
processes, as a PyTorch user would write it. Prints one JSON object."""
import json
import statistics
import sys
import time

import PIL
import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def main() -> None:
    root, size, workers, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    transform = transforms.Compose(
        [transforms.Resize(size), transforms.CenterCrop(size), transforms.PILToTensor()]
    )
    dataset = datasets.ImageFolder(root, transform=transform)
    loader = DataLoader(dataset, batch_size=256, shuffle=False, num_workers=workers)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        seen = 0
        for images, _labels in loader:
            seen += images.shape[0]
        rates.append(seen / (time.perf_counter() - start))
    print(
        json.dumps(
            {
                "engine": f"PIL {PIL.__version__} + torchvision {torchvision.__version__}, DataLoader {workers} workers",
                "images": len(dataset),
                "imagesPerSecond": statistics.median(rates),
                "runs": rates,
            }
        )
    )


if __name__ == "__main__":
    main()
