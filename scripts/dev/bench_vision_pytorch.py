#!/usr/bin/env python3
"""Training-step speed of LeNet-5 or ResNet-20 in PyTorch CPU eager (development/benchmark only):

    /root/.cache/atelier-dev/venv/bin/python scripts/dev/bench_vision_pytorch.py --model lenet --threads 1

One step = zero grads, forward, F.cross_entropy (mean), backward, torch.optim.SGD(lr 0.05, momentum 0.9,
nesterov, weight_decay 5e-4) step, in float32, model in train mode (ResNet-20's BatchNorm uses batch
statistics). Inputs ~ N(0, 1) and labels uniform in 0..9 from Generator seed 0, one batch reused for
every step. --warmup untimed steps, then --steps timed ones. --precision bf16-autocast runs the
forward pass and the loss under torch.autocast("cpu", dtype=torch.bfloat16) — PyTorch's own mixed
precision: convolutions and linears in bf16 (oneDNN), weights and optimizer in float32. Prints `images/s: <float>` (batch × steps /
time of the timed steps) and `peak_rss_mib: <float>` (getrusage ru_maxrss of this process).

lenet     1×28×28: conv 1→6 k5 pad 2, ReLU, max-pool 2, conv 6→16 k5, ReLU, max-pool 2, flatten 400,
          Linear 400→120, ReLU, Linear 120→84, ReLU, Linear 84→10 (as scripts/dev/make-vision-fixtures.py)
resnet20  3×32×32, He et al. 2016 CIFAR variant: conv3×3 3→16 (no bias) + BN + ReLU; stages of 3 basic
          blocks at widths 16, 32, 64, the first block of stages 2 and 3 with stride 2 and a conv1×1
          stride-2 (no bias) + BN projection shortcut; block = conv3×3(s)-BN-ReLU-conv3×3-BN + shortcut,
          ReLU; global average pool; Linear 64→10.
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    input_shape = (1, 28, 28)

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class BasicBlock(nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    input_shape = (3, 32, 32)

    def __init__(self, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, inputs = [], 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            for index in range(3):
                blocks.append(BasicBlock(inputs, width, stride if index == 0 else 1))
                inputs = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {"lenet": LeNet, "resnet20": ResNet20}


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {text}")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument("--threads", type=positive, default=1)
    parser.add_argument("--batch", type=positive, default=128)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=positive, default=20)
    parser.add_argument("--precision", choices=["f32", "bf16-autocast"], default="f32")
    args = parser.parse_args()
    if args.warmup < 0:
        parser.error(f"--warmup: expected an integer ≥ 0, got {args.warmup}")

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # only settable before the first inter-op work; harmless when it is too late
    torch.manual_seed(0)
    model = MODELS[args.model]()
    model.train()
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, *model.input_shape, generator=generator)
    labels = torch.randint(0, 10, (args.batch,), generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16-autocast"):
            loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    loss.item()
    elapsed = time.perf_counter() - start

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"model: {args.model}, threads {args.threads} (torch {torch.__version__}), {args.precision}, batch {args.batch}, "
          f"{args.warmup} warm-up + {args.steps} timed steps in {elapsed:.3f} s, final loss {loss.item():.4f}")
    print(f"images/s: {args.batch * args.steps / elapsed:.2f}")
    print(f"peak_rss_mib: {peak_kib / 1024:.1f}")


if __name__ == "__main__":
    main()
