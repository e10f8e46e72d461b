r"""PyTorch eager reference: masked LeNet-300-100 trained the open_lth way.

  python -m benchmarks.torch_reference --steps=2000 --rounds=2

In one run, on the same synthetic MNIST-shaped data (batch 60, Adam
1.2e-3, masks keeping 51.2 % of the weights):

* ``torch``: PyTorch eager as open_lth trains (``PrunedModel``: every mask
  multiplied into its weight before each forward; ``zero_grad``, forward,
  cross-entropy, ``backward``, ``Adam.step``, ``LambdaLR.step`` per step),
  fed either by batches indexed from an in-memory tensor (``tensor``:
  torch's best case) or by open_lth's input pipeline (``open_lth``: a
  ``DataLoader`` with no workers over a data set that makes a PIL image of
  each example, then ``ToTensor`` and ``Normalize``), each with 1 thread
  and with torch's default (one per core);
* ``lth_jax``: the same training through the library's executor
  (``benchmarks.sweep_throughput``, fresh processes): one replicate, and
  8 replicates under ``auto`` (the host CPU split into one device per core,
  as a sweep launch does).

``--rounds`` alternates the two and keeps each one's best. Needs torch
(the ``[bench]`` extra).
"""
import time
from typing import Iterator

from absl import app
from absl import flags
import numpy as np
from PIL import Image
import torch
from torch import nn

from benchmarks import sweep_throughput

_TORCH_THREADS = flags.DEFINE_list(
    'torch_threads', ['1', '0'],
    'torch.set_num_threads values to try (0: torch default, one per core).')
_TORCH_DATA = flags.DEFINE_list(
    'torch_data', ['tensor', 'open_lth'],
    "Torch input pipelines: 'tensor' (in-memory batches, torch's best "
    "case) and 'open_lth' (its per-example PIL DataLoader).")
_SWEEP_SIZE = flags.DEFINE_integer('sweep_replicates', 8,
                                   'Replicates of the lth_jax sweep row.')
DENSITY = 0.8 ** 3  # the weights kept at IMP level 3 (20 % per level)
LEARNING_RATE = 1.2e-3


def _tensor_batches(x, y, batch_size: int, generator) -> Iterator[tuple]:
  """Batches indexed from in-memory tensors by a per-epoch permutation."""
  per_epoch = len(x) // batch_size
  while True:
    perm = torch.randperm(len(x), generator=generator)
    for i in range(per_epoch):
      idx = perm[i * batch_size:(i + 1) * batch_size]
      yield x[idx], y[idx]


class OpenLthMnist(torch.utils.data.Dataset):
  """open_lth's MNIST ``ImageDataset`` without torchvision: per example, a
  PIL image, then ``ToTensor`` and ``Normalize(0.1307, 0.3081)``."""

  def __init__(self, images: np.ndarray, labels: np.ndarray):
    self.images, self.labels = images, labels

  def __len__(self) -> int:
    return len(self.labels)

  def __getitem__(self, index: int) -> tuple:
    image = Image.fromarray(self.images[index])
    x = torch.from_numpy(np.asarray(image, np.float32) / 255.0)[None]
    return (x - 0.1307) / 0.3081, int(self.labels[index])


def _open_lth_batches(images, labels, batch_size: int, generator
                      ) -> Iterator[tuple]:
  """open_lth's loader: a shuffled ``DataLoader`` with ``num_workers=0``."""
  loader = torch.utils.data.DataLoader(
      OpenLthMnist(images, labels), batch_size, num_workers=0,
      sampler=torch.utils.data.RandomSampler(labels, generator=generator))
  while True:
    yield from loader


def torch_steps_per_s(steps: int, batch_size: int, examples: int,
                      repeats: int, threads: int, data: str) -> float:
  """Best steps/s of masked LeNet-300-100 training in PyTorch eager.

  Args:
    steps: steps per timed repeat.
    batch_size: examples per step.
    examples: synthetic training examples.
    repeats: timed repeats (the best is kept).
    threads: ``torch.set_num_threads``.
    data: ``'tensor'`` (batches indexed from memory) or ``'open_lth'``.
  """
  torch.set_num_threads(threads)
  torch.manual_seed(0)
  generator = torch.Generator().manual_seed(0)
  dataset = sweep_throughput.synthetic_dataset((28, 28, 1), examples)
  if data == 'tensor':
    batches = _tensor_batches(
        torch.from_numpy(np.ascontiguousarray(dataset.train_images)),
        torch.from_numpy(dataset.train_labels.astype(np.int64)), batch_size,
        generator)
  else:
    pixels = np.clip(dataset.train_images[..., 0] * 64 + 128, 0, 255)
    batches = _open_lth_batches(pixels.astype(np.uint8),
                                dataset.train_labels, batch_size, generator)
  model = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(),
                        nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
  params = dict(model.named_parameters())
  masks = {name: (torch.rand_like(p) < DENSITY).float()
           for name, p in params.items() if name.endswith('weight')}
  optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
  schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: 1.0)

  def train(num_steps: int) -> None:
    for _ in range(num_steps):
      x, y = next(batches)
      with torch.no_grad():  # open_lth PrunedModel._apply_mask
        for name, mask in masks.items():
          params[name].data *= mask
      optimizer.zero_grad()
      model.train()
      loss = nn.functional.cross_entropy(model(x), y)
      loss.backward()
      optimizer.step()
      schedule.step()

  train(20)  # warm-up
  best = float('inf')
  for _ in range(repeats):
    tic = time.perf_counter()
    train(steps)
    best = min(best, time.perf_counter() - tic)
  return steps / best


def main(argv: list[str]) -> None:
  del argv
  flags_ = flags.FLAGS
  steps, repeats = flags_.steps, flags_.repeats
  threads = [int(t) or torch.get_num_threads() for t in _TORCH_THREADS.value]
  variants = [(d, t) for d in _TORCH_DATA.value for t in threads]
  torch_rates, rows = {v: 0.0 for v in variants}, []
  for _ in range(flags_.rounds):
    for data, t in variants:
      torch_rates[data, t] = max(torch_rates[data, t], torch_steps_per_s(
          steps, flags_.batch_size, flags_.examples, repeats, t, data))
    rows += sweep_throughput.run_worker('lenet300_100', 'serial', [1])
    rows += sweep_throughput.run_worker('lenet300_100', 'auto',
                                        [_SWEEP_SIZE.value])
  best = sweep_throughput.best_rows(rows)
  torch_best = max(torch_rates.values())
  shipped = max((r for (d, _), r in torch_rates.items() if d == 'open_lth'),
                default=0.0)
  print(f'torch {torch.__version__} steps={steps} batch={flags_.batch_size} '
        f'rounds={flags_.rounds}')
  print('| what | model-steps/s | x best torch | x open_lth pipeline |\n'
        '|---|---|---|---|')

  def line(what: str, rate: float) -> None:
    versus = f'{rate / shipped:.2f}' if shipped else '-'
    print(f'| {what} | {rate:.0f} | {rate / torch_best:.2f} | {versus} |')

  for (data, t), rate in torch_rates.items():
    line(f'PyTorch eager, {data} batches, {t} thread(s)', rate)
  for (_, strategy, count), row in sorted(best.items(),
                                          key=lambda kv: kv[0][2]):
    line(f'lth_jax, {count} replicate(s), {strategy}'
         + (f' -> {row["auto"]}' if strategy == 'auto' else ''),
         row['model_steps_per_s'])


if __name__ == '__main__':
  app.run(main)
