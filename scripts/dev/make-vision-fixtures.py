#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures of the vision tests (development time only):

    /root/.cache/atelier-dev/venv/bin/python scripts/dev/make-vision-fixtures.py Tests/VisionTests/Fixtures

(torch 2.x CPU, numpy, gguf-py). Every input is drawn in float32 (so a float32 consumer reads exactly the
inputs the reference used), every reference is computed in torch.float64 from those inputs and stored
as float32. One thread and fixed seeds: running it again gives the same files byte for byte.

Storage conventions (all files, arch "atelier-fixture"):
  tensors  F32, written as the row-major numpy array of the PyTorch shape; gguf-py stores the dims in
           ggml order (innermost first), so a reader gets the PyTorch shape by reversing them.
           Integer labels are stored as F32 tensors.
  metadata integers as UINT32, float scalars as FLOAT64, booleans as BOOL, float lists as ARRAY of
           FLOAT32, all under "fixture.".

conv.gguf — F.conv2d and its gradients, L = sum(output * upstream)
  case 1: x [2,4,9,9], weight [6,2,3,3], bias [6]; stride 2, padding 1, dilation 2, groups 2
          → output [2,6,4,4]; upstream [2,6,4,4]; grad_x, grad_weight, grad_bias
          metadata fixture.stride=2, fixture.padding=1, fixture.dilation=2, fixture.groups=2
  case 2: x2 [3,3,7,6], weight2 [5,3,3,2], bias2 [5]; stride 1, padding 0, dilation 1, groups 1
          → output2 [3,5,5,5]; upstream2; grad_x2, grad_weight2, grad_bias2
          metadata fixture.stride2=1, fixture.padding2=0, fixture.dilation2=1, fixture.groups2=1

pool.gguf — x [2,3,7,7], distinct values (a permutation of (k - 147) / 32, k = 0..293: no ties)
  max_pool2d(kernel 3, stride 2, padding 1)                          → max_out [2,3,4,4], upstream gmax, max_grad
  avg_pool2d(kernel 3, stride 2, padding 1, count_include_pad=True)  → avg_out [2,3,4,4], upstream gavg, avg_grad
  avg_pool2d(kernel 2, stride 2)  (floor: last row/column unused)     → avg2_out [2,3,3,3], upstream gavg2, avg2_grad
  (each grad = d sum(out * upstream) / d x, shape [2,3,7,7])

batchnorm.gguf — nn.BatchNorm2d(3, eps 1e-5, momentum 0.1), running stats starting at mean 0 / var 1
  x [4,3,5,5], weight [3], bias [3]: train-mode bn_out, upstream bn_upstream, grad_x, grad_weight,
  grad_bias; running_mean [3], running_var [3] after that one training forward (running_var uses the
  unbiased batch variance, n/(n-1)); then eval-mode eval_out [2,3,5,5] of x_eval [2,3,5,5].
  BatchNorm1d(4) on a 2-D input: x1d [6,4], w1d [4], b1d [4] → out1d, upstream1d, grad_x1d, grad_w1d,
  grad_b1d, running_mean1d [4], running_var1d [4].
  metadata fixture.eps, fixture.momentum

lenet-sgd.gguf — LeNet-5 (names/shapes below), 5 SGD steps on one batch of 8, float64
  conv1 1→6 k5 pad 2, conv2 6→16 k5, fc1 400→120, fc2 120→84, fc3 84→10;
  relu(conv1) → max_pool2d(2) → relu(conv2) → max_pool2d(2) → flatten (NCHW) → relu(fc1) → relu(fc2) → fc3;
  loss F.cross_entropy(logits, labels, label_smoothing=0.1) (mean over the batch).
  init: PyTorch default init in float32 after torch.manual_seed(0) (modules built in the order above);
  input ~ N(0,1) [8,1,28,28] (Generator seed 1); labels uniform ints 0..9 [8] (Generator seed 2).
  torch.optim.SGD(lr 0.05, momentum 0.9, nesterov True, weight_decay 5e-4); each step: zero grads,
  forward, loss, backward, step.
  tensors: initial.<name>, input, labels [8] (F32), logits [8,10] (step 0), gradient.<name> (step 0,
  before any update), final.<name> (after 5 steps); <name> in conv1.weight [6,1,5,5], conv1.bias [6],
  conv2.weight [16,6,5,5], conv2.bias [16], fc1.weight [120,400], fc1.bias [120], fc2.weight [84,120],
  fc2.bias [84], fc3.weight [10,84], fc3.bias [10].
  metadata fixture.losses (5 losses, each before its step's update), fixture.learning_rate,
  fixture.momentum, fixture.weight_decay, fixture.nesterov, fixture.label_smoothing, fixture.steps.
  The same run in float32 PyTorch ends close to the float64 finals (measured with torch 2.15 CPU, one
  thread, and printed again in the summary): max over tensors of max|Δ| / max|f64| = 1.8e-7;
  elementwise max |Δ| / |f64| over elements with |f64| ≥ 1e-3 = 2.3e-6; losses 7e-8 relative.

onecycle.gguf — OneCycleLR(max_lr 0.1, total_steps 50, pct_start 0.25, anneal_strategy 'cos',
  div_factor 25, final_div_factor 1e4, cycle_momentum False) on SGD: fixture.learning_rates [50], the
  lr in param_groups[0] before each scheduler.step() (steps 0..49), plus the arguments as metadata.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from gguf import GGUFValueType, GGUFWriter

def f32(tensor):
    """The stored form: float32 numpy, C order."""
    return np.ascontiguousarray(tensor.detach().to(torch.float32).numpy())


def draw(generator, *shape, scale=1.0):
    """N(0, scale²) drawn in float32, returned as float64 holding exactly those float32 values."""
    return (torch.randn(*shape, generator=generator, dtype=torch.float32) * scale).to(torch.float64)


def writer_for(directory, name):
    return GGUFWriter(os.path.join(directory, name), arch="atelier-fixture")


def add_floats(writer, key, values):
    writer.add_key_value(key, [float(v) for v in values], GGUFValueType.ARRAY, sub_type=GGUFValueType.FLOAT32)


def finish(writer, summary, name, tensors):
    for key, value in tensors.items():
        writer.add_tensor(key, f32(value))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    summary.append((name, {key: tuple(value.shape) for key, value in tensors.items()}))


def conv_case(generator, x_shape, w_shape, stride, padding, dilation, groups):
    x = draw(generator, *x_shape).requires_grad_()
    weight = draw(generator, *w_shape, scale=0.3).requires_grad_()
    bias = draw(generator, w_shape[0], scale=0.5).requires_grad_()
    output = F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    upstream = draw(generator, *output.shape)
    (output * upstream).sum().backward()
    return dict(x=x, weight=weight, bias=bias, output=output, upstream=upstream,
                grad_x=x.grad, grad_weight=weight.grad, grad_bias=bias.grad)


def make_conv(directory, summary):
    generator = torch.Generator().manual_seed(10)
    first = conv_case(generator, (2, 4, 9, 9), (6, 2, 3, 3), stride=2, padding=1, dilation=2, groups=2)
    second = conv_case(generator, (3, 3, 7, 6), (5, 3, 3, 2), stride=1, padding=0, dilation=1, groups=1)
    writer = writer_for(directory, "conv.gguf")
    for key, value in dict(stride=2, padding=1, dilation=2, groups=2,
                           stride2=1, padding2=0, dilation2=1, groups2=1).items():
        writer.add_uint32(f"fixture.{key}", value)
    tensors = dict(first)
    tensors.update({f"{key}2": value for key, value in second.items()})
    finish(writer, summary, "conv.gguf", tensors)


def make_pool(directory, summary):
    generator = torch.Generator().manual_seed(20)
    count = 2 * 3 * 7 * 7
    permutation = torch.randperm(count, generator=generator)
    x = ((permutation.to(torch.float64) - count // 2) / 32).reshape(2, 3, 7, 7)  # exact in float32
    tensors = {"x": x}
    cases = [
        ("max", lambda t: F.max_pool2d(t, kernel_size=3, stride=2, padding=1), "gmax"),
        ("avg", lambda t: F.avg_pool2d(t, kernel_size=3, stride=2, padding=1, count_include_pad=True), "gavg"),
        ("avg2", lambda t: F.avg_pool2d(t, kernel_size=2, stride=2), "gavg2"),
    ]
    for prefix, pool, upstream_name in cases:
        leaf = x.clone().requires_grad_()
        out = pool(leaf)
        upstream = draw(generator, *out.shape)
        (out * upstream).sum().backward()
        tensors[f"{prefix}_out"] = out
        tensors[upstream_name] = upstream
        tensors[f"{prefix}_grad"] = leaf.grad
    finish(writer_for(directory, "pool.gguf"), summary, "pool.gguf", tensors)


def batchnorm_case(module, generator, x_shape):
    channels = x_shape[1]
    with torch.no_grad():
        module.weight.copy_(1 + draw(generator, channels, scale=0.3))
        module.bias.copy_(draw(generator, channels, scale=0.5))
    x = (draw(generator, *x_shape, scale=2.0) + 0.7).requires_grad_()
    module.train()
    out = module(x)
    upstream = draw(generator, *out.shape)
    (out * upstream).sum().backward()
    return x, out, upstream


def make_batchnorm(directory, summary):
    generator = torch.Generator().manual_seed(30)
    eps, momentum = 1e-5, 0.1
    bn = nn.BatchNorm2d(3, eps=eps, momentum=momentum).double()
    x, out, upstream = batchnorm_case(bn, generator, (4, 3, 5, 5))
    x_eval = draw(generator, 2, 3, 5, 5, scale=1.5) + 0.3
    bn.eval()
    with torch.no_grad():
        eval_out = bn(x_eval)
    bn1 = nn.BatchNorm1d(4, eps=eps, momentum=momentum).double()
    x1, out1, upstream1 = batchnorm_case(bn1, generator, (6, 4))
    writer = writer_for(directory, "batchnorm.gguf")
    writer.add_float64("fixture.eps", eps)
    writer.add_float64("fixture.momentum", momentum)
    tensors = dict(x=x, weight=bn.weight, bias=bn.bias, bn_out=out, bn_upstream=upstream, grad_x=x.grad,
                   grad_weight=bn.weight.grad, grad_bias=bn.bias.grad, running_mean=bn.running_mean,
                   running_var=bn.running_var, x_eval=x_eval, eval_out=eval_out,
                   x1d=x1, w1d=bn1.weight, b1d=bn1.bias, out1d=out1, upstream1d=upstream1, grad_x1d=x1.grad,
                   grad_w1d=bn1.weight.grad, grad_b1d=bn1.bias.grad, running_mean1d=bn1.running_mean,
                   running_var1d=bn1.running_var)
    finish(writer, summary, "batchnorm.gguf", tensors)


class LeNet(nn.Module):
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


LENET_SGD = dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
LABEL_SMOOTHING = 0.1
LENET_STEPS = 5


def train_lenet(initial, x, labels, dtype):
    model = LeNet().to(dtype)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.copy_(initial[name])
    optimizer = torch.optim.SGD(model.parameters(), **LENET_SGD)
    x = x.to(dtype)
    losses, logits0, gradients = [], None, None
    for step in range(LENET_STEPS):
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
        loss.backward()
        if step == 0:
            logits0 = logits.detach().clone()
            gradients = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
        losses.append(loss.item())
        optimizer.step()
    final = {name: p.detach().clone() for name, p in model.named_parameters()}
    return losses, logits0, gradients, final


def make_lenet(directory, summary):
    torch.manual_seed(0)
    initial = {name: p.detach().clone() for name, p in LeNet().named_parameters()}  # float32 default init
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1), dtype=torch.float32)
    labels = torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(2))
    losses, logits, gradients, final = train_lenet(initial, x, labels, torch.float64)
    losses32, _, _, final32 = train_lenet(initial, x, labels, torch.float32)

    # f32 vs f64: per tensor max|Δ| / max|f64|, and elementwise |Δ| / |f64| over elements with |f64| ≥ 1e-3.
    tensor_relative = max((final32[n].double() - final[n]).abs().max().item() / final[n].abs().max().item()
                          for n in final)
    element_relative = 0.0
    for n in final:
        reference = final[n]
        mask = reference.abs() >= 1e-3
        ratio = (final32[n].double() - reference).abs()[mask] / reference.abs()[mask]
        element_relative = max(element_relative, ratio.max().item())
    loss_relative = max(abs(a - b) / abs(b) for a, b in zip(losses32, losses))

    writer = writer_for(directory, "lenet-sgd.gguf")
    add_floats(writer, "fixture.losses", losses)
    writer.add_float64("fixture.learning_rate", LENET_SGD["lr"])
    writer.add_float64("fixture.momentum", LENET_SGD["momentum"])
    writer.add_float64("fixture.weight_decay", LENET_SGD["weight_decay"])
    writer.add_bool("fixture.nesterov", LENET_SGD["nesterov"])
    writer.add_float64("fixture.label_smoothing", LABEL_SMOOTHING)
    writer.add_uint32("fixture.steps", LENET_STEPS)
    tensors = {f"initial.{n}": v for n, v in initial.items()}
    tensors.update(input=x, labels=labels.to(torch.float32), logits=logits)
    tensors.update({f"gradient.{n}": v for n, v in gradients.items()})
    tensors.update({f"final.{n}": v for n, v in final.items()})
    finish(writer, summary, "lenet-sgd.gguf", tensors)
    return losses, tensor_relative, element_relative, loss_relative


ONECYCLE = dict(max_lr=0.1, total_steps=50, pct_start=0.25, anneal_strategy="cos", div_factor=25.0,
                final_div_factor=1e4, cycle_momentum=False)


def make_onecycle(directory, summary):
    parameter = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, **ONECYCLE)
    rates = []
    for _ in range(ONECYCLE["total_steps"]):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    writer = writer_for(directory, "onecycle.gguf")
    add_floats(writer, "fixture.learning_rates", rates)
    for key in ("max_lr", "pct_start", "div_factor", "final_div_factor"):
        writer.add_float64(f"fixture.{key}", float(ONECYCLE[key]))
    writer.add_uint32("fixture.total_steps", ONECYCLE["total_steps"])
    writer.add_string("fixture.anneal_strategy", ONECYCLE["anneal_strategy"])
    writer.add_bool("fixture.cycle_momentum", ONECYCLE["cycle_momentum"])
    finish(writer, summary, "onecycle.gguf", {})
    return rates


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-vision-fixtures.py OUTPUT_DIRECTORY")
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    torch.set_num_threads(1)  # one thread: the same summation order on every machine
    summary = []
    make_conv(directory, summary)
    make_pool(directory, summary)
    make_batchnorm(directory, summary)
    losses, tensor_relative, element_relative, loss_relative = make_lenet(directory, summary)
    rates = make_onecycle(directory, summary)

    print(f"# LeNet f32 vs f64 finals after {LENET_STEPS} SGD steps: max over tensors of max|Δ|/max|f64| = "
          f"{tensor_relative:.3e}; max elementwise |Δ|/|f64| (|f64| ≥ 1e-3) = {element_relative:.3e}; "
          f"losses max relative Δ = {loss_relative:.3e}")
    print(f"# LeNet losses (f64): {', '.join(f'{v:.9f}' for v in losses)}")
    print(f"# OneCycle lrs: first {rates[0]:.6g}, peak {max(rates):.6g} at step {rates.index(max(rates))}, "
          f"last {rates[-1]:.6g}")
    total = 0
    for name, shapes in summary:
        size = os.path.getsize(os.path.join(directory, name))
        total += size
        print(f"{name} ({size} bytes)")
        for key, shape in shapes.items():
            print(f"  {key:24} {list(shape)}")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
