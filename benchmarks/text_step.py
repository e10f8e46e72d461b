r"""Speed of the text-CNN ensemble's masked train step: lth_jax vs. PyTorch.

In one process, on the same random token ids (batch 60, length 200), the
16-module ensemble (shared embedding, masks keeping 51.2 % of the
embedding, convolution and output weights: IMP level 3 at 20 %), Adam:

* ``lth_jax``: the jitted masked ``training.steps.train_step`` (dropout keys
  from the data key), called once per step on device-resident batches;
* ``torch``: the same model in PyTorch eager, trained as open_lth does
  (every mask multiplied into its weight before the forward; ``zero_grad``,
  forward, cross-entropy, ``backward``, ``Adam.step``), with
  ``torch.set_num_threads`` at each of ``--torch_threads`` (0: torch's
  default, one per core).

``--rounds`` alternates the two and keeps each one's best; the ratio is
lth_jax steps/s over the best torch steps/s (target >= 1.5x on CPU).

  python -m benchmarks.text_step --steps=50 --rounds=2
  python -m benchmarks.text_step --vocab_size=5000 --embed_dim=8  # cpu preset

Needs torch (the ``[bench]`` extra).
"""
import os
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from torch import nn

from lth_jax import models
from lth_jax import pruning
from lth_jax import training
from lth_jax.models import text as text_model
from lth_jax.training import steps as steps_lib

_STEPS = flags.DEFINE_integer('steps', 50, 'Steps per measurement.')
_ROUNDS = flags.DEFINE_integer('rounds', 2, 'Best of this many rounds.')
_VOCAB = flags.DEFINE_integer('vocab_size', 60000, 'Embedding rows.')
_DIM = flags.DEFINE_integer('embed_dim', 300, 'Embedding width.')
_LENGTH = flags.DEFINE_integer('length', 200, 'Tokens per document.')
_BATCH = flags.DEFINE_integer('batch_size', 60, 'Documents per step.')
_CLASSES = flags.DEFINE_integer('num_classes', 20, 'Output units.')
_TORCH_THREADS = flags.DEFINE_list(
    'torch_threads', ['0'],
    'torch.set_num_threads values (0: torch default, one per core).')
DENSITY = 0.8 ** 3
LEARNING_RATE = 1e-3
PRUNABLE = r'(^|/)(kernel|embedding)$'


class TorchEnsemble(nn.Module):
  """``lth_jax.models.text.TextCNNEnsemble`` in PyTorch (channels first)."""

  def __init__(self, vocab_size: int, embed_dim: int, num_classes: int,
               num_modules: int = 16, filters: int = 3):
    super().__init__()
    self.embedding = nn.Embedding(vocab_size, embed_dim)
    self.convs = nn.ModuleList(
        nn.Conv1d(embed_dim, filters, text_model.conv_width(i))
        for i in range(num_modules))
    self.pools = [text_model.pool_size(i, num_modules)
                  for i in range(num_modules)]
    self.dropout = nn.Dropout(0.5)
    self.output = nn.Linear(filters * num_modules, num_classes)

  def forward(self, ids: torch.Tensor) -> torch.Tensor:
    x = self.embedding(ids).transpose(1, 2)          # [N, C, L]
    pooled = []
    for conv, size in zip(self.convs, self.pools):
      y = nn.functional.avg_pool1d(conv(x), size)
      pooled.append(self.dropout(y).mean(-1))
    return self.output(self.dropout(torch.cat(pooled, -1)))


def torch_steps_per_s(ids: np.ndarray, labels: np.ndarray, steps: int,
                      threads: int) -> float:
  """Steps/s of masked PyTorch eager training (open_lth's order)."""
  torch.manual_seed(0)
  if threads:
    torch.set_num_threads(threads)
  model = TorchEnsemble(_VOCAB.value, _DIM.value, _CLASSES.value)
  params = dict(model.named_parameters())
  gen = torch.Generator().manual_seed(1)
  masks = {name: (torch.rand(p.shape, generator=gen) < DENSITY).float()
           for name, p in params.items() if not name.endswith('bias')}
  optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
  x, y = torch.from_numpy(ids).long(), torch.from_numpy(labels).long()
  model.train()

  def train(num_steps: int) -> None:
    for _ in range(num_steps):
      with torch.no_grad():  # open_lth PrunedModel._apply_mask
        for name, mask in masks.items():
          params[name].data *= mask
      optimizer.zero_grad()
      loss = nn.functional.cross_entropy(model(x), y)
      loss.backward()
      optimizer.step()

  train(3)  # warm-up
  tic = time.perf_counter()
  train(steps)
  return steps / (time.perf_counter() - tic)


def jax_steps_per_s(ids: np.ndarray, labels: np.ndarray, steps: int
                    ) -> tuple[float, float]:
  """(steps/s, compile seconds) of the jitted masked ``train_step``."""
  model = models.get_model('text_cnn_ensemble', num_classes=_CLASSES.value,
                           vocab_size=_VOCAB.value, embed_dim=_DIM.value)
  x, y = jnp.asarray(ids), jnp.asarray(labels)
  params = jax.jit(model.init)(jax.random.key(0), x[:1])['params']
  # Random masks at DENSITY (the pattern does not change the speed).
  masks = jax.tree.map(
      lambda m: None if m is None else jax.random.uniform(
          jax.random.fold_in(jax.random.key(2), m.size), m.shape) < DENSITY,
      pruning.ones_like(params, PRUNABLE), is_leaf=lambda m: m is None)
  state = training.create_train_state(model, params, masks,
                                      optax.adam(LEARNING_RATE),
                                      jax.random.key(3))
  step = jax.jit(steps_lib.train_step, donate_argnums=0)
  tic = time.perf_counter()
  state, loss = step(state, x, y)
  loss.block_until_ready()
  compile_s = time.perf_counter() - tic
  state, loss = step(state, x, y)  # warm-up
  loss.block_until_ready()
  tic = time.perf_counter()
  for _ in range(steps):
    state, loss = step(state, x, y)
  loss.block_until_ready()
  return steps / (time.perf_counter() - tic), compile_s


def load_average() -> str:
  """The 1-minute load average (the machine is shared: quote it)."""
  return f'load {os.getloadavg()[0]:.1f}'


def main(argv: list[str]) -> None:
  del argv
  rng = np.random.default_rng(0)
  ids = rng.integers(0, _VOCAB.value, (_BATCH.value, _LENGTH.value)
                     ).astype(np.int32)
  labels = rng.integers(0, _CLASSES.value, _BATCH.value).astype(np.int32)
  print(f'text-CNN ensemble, vocab {_VOCAB.value}, dim {_DIM.value}, batch '
        f'{_BATCH.value}, length {_LENGTH.value}, {_STEPS.value} steps, '
        f'best of {_ROUNDS.value}; jax {jax.__version__} '
        f'({jax.default_backend()}), torch {torch.__version__}', flush=True)
  best_jax, best_torch = 0.0, {}
  for r in range(_ROUNDS.value):
    rate, compile_s = jax_steps_per_s(ids, labels, _STEPS.value)
    best_jax = max(best_jax, rate)
    print(f'round {r}: lth_jax {rate:.2f} steps/s (compile {compile_s:.1f} '
          f's; {load_average()})', flush=True)
    for threads in _TORCH_THREADS.value:
      t = int(threads)
      rate = torch_steps_per_s(ids, labels, _STEPS.value, t)
      best_torch[t] = max(best_torch.get(t, 0.0), rate)
      print(f'round {r}: torch eager (threads {t or "default"}) '
            f'{rate:.2f} steps/s ({load_average()})', flush=True)
  torch_best = max(best_torch.values())
  print(f'\n| lth_jax steps/s | torch eager steps/s (best) | ratio | load |\n'
        f'|---|---|---|---|\n| {best_jax:.2f} | {torch_best:.2f} | '
        f'{best_jax / torch_best:.2f}x | {load_average()[5:]} |')


if __name__ == '__main__':
  app.run(main)
