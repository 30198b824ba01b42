"""FastAPI + uvicorn + PyTorch peer for `pnpm bench serve`: the reference CNN behind POST /predict.

What a PyTorch user would write (as in the MLOps course projects): a multipart `file` upload, PIL decoding with EXIF
orientation, grayscale, resize to 28x28, normalisation, softmax, top-k. The endpoint is a plain `def`, so FastAPI
runs it in its thread pool (an `async def` doing CPU work would block the event loop); torch uses 1 thread per
process, which measured best here. Run with Debian's python3:

    /usr/bin/python3 -m uvicorn --app-dir bench/serve peer_fastapi:app --workers 2 --no-access-log
"""
import io
import os
import time

import numpy as np
import torch
from fastapi import FastAPI, File, HTTPException, UploadFile
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import nn

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
torch.manual_seed(0)

LABELS = [str(i) for i in range(10)]
MEAN, STD = 0.1307, 0.3081

model = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
).eval()
with torch.inference_mode():
    model(torch.zeros(1, 1, 28, 28))  # warm-up

app = FastAPI()


@app.get("/readyz")
def readyz():
    return {"status": "ready"}


@app.post("/predict")
def predict(file: UploadFile = File(...), top_k: int = 5):
    started = time.perf_counter()
    try:
        image = Image.open(io.BytesIO(file.file.read()))
        image = ImageOps.exif_transpose(image).convert("L").resize((28, 28))
    except (UnidentifiedImageError, OSError) as error:
        raise HTTPException(status_code=422, detail=f"cannot decode image: {error}")
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    x = ((x - MEAN) / STD)[None, None]
    with torch.inference_mode():
        probabilities = torch.softmax(model(x), dim=1)[0]
    values, indices = torch.topk(probabilities, min(top_k, len(LABELS)))
    return {
        "model": {"name": "exp1", "version": "pytorch-peer"},
        "predictions": [
            {"label": LABELS[i], "probability": float(v)} for v, i in zip(values.tolist(), indices.tolist())
        ],
        "latency_ms": (time.perf_counter() - started) * 1000,
    }
