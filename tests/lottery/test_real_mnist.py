"""The lottery on real MNIST: a ticket at 51 % of weights still wins, and
the README's results are what the code gives."""
import pathlib

import pytest

from configs import lenet300_mnist
from lth_jax import lottery
from lth_jax.studies.init_pruning import runner as init_pruning

from conftest import REPO
from conftest import real_data_root
from conftest import tiny_config


#: What a 1,000-step level separates at 51.2 % of the weights (seeds 0-3
#: on a 2-core Xeon, AVX-512): the ticket 97.36-97.50, the dense net
#: 96.45-97.00, a random prune of the same counts 95.83-96.19, a random
#: reinitialisation 96.09-96.15. The bar lies between them.
TICKET_BAR = 0.97


def test_ticket_at_51_percent_beats_a_random_prune_of_its_size(tmp_path):
  root = real_data_root('mnist')
  config = tiny_config(levels=3, steps='1000it')
  config.data.root = str(root)
  config.training.batch_size = 60
  config.training.eval_every = '250it'
  config.checkpoint_every = '0it'
  summaries = lottery.run(config, str(tmp_path))
  ticket = summaries[3]
  assert abs(ticket['weights_remaining'] - 0.512) < 0.002
  assert ticket['early_stop_test_acc'] >= TICKET_BAR, summaries
  assert ticket['early_stop_test_acc'] > summaries[0]['early_stop_test_acc']
  # The negative case: the same per-layer counts drawn at random, trained
  # from the same init, must fail the bar that the ticket passes.
  [random] = init_pruning.run_branches(
      config, str(tmp_path), ['random_prune_layer'], '3')[
          'random_prune_layer']
  assert random['weights_remaining'] == ticket['weights_remaining']
  assert random['early_stop_test_acc'] < TICKET_BAR, random
  assert (ticket['early_stop_test_acc'] - random['early_stop_test_acc']
          >= 0.008), (ticket, random)


def readme_level_row(level: int) -> dict:
  """The README's main-command table row of ``level`` (first table)."""
  text = (REPO / 'README.md').read_text()
  section = text[text.index('## Results'):]
  for line in section.splitlines():
    cells = [c.strip() for c in line.strip('|').split('|')]
    if len(cells) == 5 and cells[0] == str(level):
      return {'weights': float(cells[1]), 'test_acc': float(cells[2]),
              'early_stop': int(cells[3]), 'final': float(cells[4])}
  raise AssertionError(f'README has no results row for level {level}')


#: The main command's dense row (seed 0): (test acc % at early stop,
#: early-stop iteration) per instruction set. On one machine a run is
#: bit-identical; across instruction sets XLA:CPU picks other kernels and
#: 5,000 Adam steps turn the rounding into another trajectory. Measured on
#: this code: AVX-512 on a 2-core Intel Xeon (2026-12-06) and on AMD EPYC
#: machines (97.97, 4000); AVX2 on the AMD EPYC that made the README table.
DENSE_ROW = {'avx512': (97.97, 4000), 'avx2': (97.39, 2750)}


def instruction_set() -> str | None:
  """'avx512', 'avx2' or None (another CPU), from /proc/cpuinfo."""
  try:
    text = pathlib.Path('/proc/cpuinfo').read_text()
  except OSError:
    return None
  flags = set(next((line.split(':', 1)[1].split() for line in
                    text.splitlines() if line.startswith('flags')), []))
  return ('avx512' if 'avx512f' in flags else 'avx2' if 'avx2' in flags
          else None)


def same_row(acc_pct: float, step: int, expected: tuple[float, int]) -> bool:
  """The printed row (2 decimals) and its early-stop iteration, exactly."""
  return round(acc_pct, 2) == expected[0] and step == expected[1]


def test_readme_dense_row_is_what_the_main_command_gives(tmp_path):
  root = real_data_root('mnist')
  claim = readme_level_row(0)
  assert claim['weights'] == 100.0
  assert (claim['test_acc'], claim['early_stop']) in DENSE_ROW.values(), (
      'the README row is not what the main command gives on any recorded '
      'instruction set: rerun it and update DENSE_ROW')
  # The negative case: seed 1's dense row on AVX-512 (97.50 at 4000)
  # passed the former 0.8-point tolerance; it fails the exact row.
  assert not same_row(97.50, 4000, DENSE_ROW['avx512'])
  isa = instruction_set()
  if isa is None:
    pytest.skip('no recorded dense row for this CPU (neither AVX-512 nor '
                'AVX2): record one in DENSE_ROW')
  config = lenet300_mnist.get_config('preset=cpu,levels=0')
  config.unlock()
  config.data.root = str(root)
  config.checkpoint_every = '0it'
  config.progress = False
  config.tensorboard = False
  dense = lottery.run(config, str(tmp_path))[0]
  got = (100 * dense['early_stop_test_acc'], dense['early_stop_step'])
  assert same_row(*got, DENSE_ROW[isa]), (isa, got, DENSE_ROW[isa])
