#!/usr/bin/env python3
"""One training epoch of the demo's CNN on Fashion-MNIST: PyTorch 1.13 against pare, same run.

The network, optimiser and batch are the demo's: conv 1->32->64->128 (3x3, padding 1, ReLU, max
pools after the first two), adaptive average pool to 3x3, flatten, Linear 1152->128 (ReLU) ->
10, AdamW 2e-3, batch 64, the data normalised with Fashion-MNIST's mean and std, shuffled. Both
run with the same thread count. PyTorch's epoch is timed here; pare's is the `dense epoch` line
of `pare demo --epochs 1 --finetune-epochs 0`, run right after in the same session.

    /usr/bin/python3 bench/train_speed_pytorch.py --pare build/tools/pare --threads 2

Needs Debian's python3-torch (not needed by the build or the tests).
"""
import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = stream.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class FashionCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(3)
        self.fc1 = nn.Linear(128 * 9, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = torch.flatten(self.pool(F.relu(self.conv3(h))), 1)
        return self.fc2(F.relu(self.fc1(h)))


def pytorch_epoch(images, labels, batch, seed):
    torch.manual_seed(seed)
    net = FashionCnn()
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3)
    x = (torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1) - MEAN) / STD
    y = torch.from_numpy(labels.astype(np.int64))
    order = torch.randperm(len(y))
    start = time.perf_counter()
    for first in range(0, len(y), batch):
        index = order[first:first + batch]
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x[index]), y[index])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def pare_epoch(pare, data_dir, threads, batch, seed):
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(
            [pare, "demo", "--epochs", "1", "--finetune-epochs", "0", "--threads", str(threads),
             "--batch-size", str(batch), "--seed", str(seed), "--data", data_dir, "--out", out],
            check=True, capture_output=True, text=True)
    match = re.search(r"dense epoch 1/1 .* ([0-9.]+) s", result.stdout)
    if not match:
        sys.exit("could not find pare's epoch time in:\n" + result.stdout)
    return float(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pare", default="build/tools/pare")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    torch_seconds = pytorch_epoch(images, labels, args.batch, args.seed)
    pare_seconds = pare_epoch(args.pare, args.data, args.threads, args.batch, args.seed)
    count = len(labels)
    print(f"one epoch, {count} images, batch {args.batch}, {args.threads} thread(s)")
    print(f"  PyTorch {torch.__version__}: {torch_seconds:7.1f} s  {count / torch_seconds:7.0f} img/s")
    print(f"  pare:           {pare_seconds:7.1f} s  {count / pare_seconds:7.0f} img/s")
    print(f"  pare / PyTorch time: {pare_seconds / torch_seconds:.2f}")


if __name__ == "__main__":
    main()
