"""The lottery on real MNIST: a ticket at 51 % of weights still wins, and
the README's results are what the code gives."""
from configs import lenet300_mnist
from lth_jax import lottery

from conftest import REPO
from conftest import real_data_root
from conftest import tiny_config


def test_ticket_at_51_percent_reaches_96_percent(tmp_path):
  root = real_data_root('mnist')
  config = tiny_config(levels=3, steps='1000it')
  config.data.root = str(root)
  config.training.batch_size = 60
  config.training.eval_every = '250it'
  config.checkpoint_every = '0it'
  summaries = lottery.run(config, str(tmp_path))
  ticket = summaries[3]
  assert abs(ticket['weights_remaining'] - 0.512) < 0.002
  assert ticket['early_stop_test_acc'] >= 0.96, summaries


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


#: How far one seed's dense test accuracy moves between CPUs (float
#: rounding of different instruction sets changes the trajectory): seed 0
#: gave 97.97 on an AVX-512 machine and 97.39 on an AVX2 one; seeds 0-2
#: span 97.39-97.99 on one machine.
ACROSS_MACHINES = 0.8


def test_readme_dense_row_is_what_the_main_command_gives(tmp_path):
  root = real_data_root('mnist')
  config = lenet300_mnist.get_config('preset=cpu,levels=0')
  config.unlock()
  config.data.root = str(root)
  config.checkpoint_every = '0it'
  config.progress = False
  config.tensorboard = False
  dense = lottery.run(config, str(tmp_path))[0]
  claim = readme_level_row(0)
  assert claim['weights'] == 100.0
  assert abs(100 * dense['early_stop_test_acc'] - claim['test_acc']) <= (
      ACROSS_MACHINES), (dense, claim)
  assert 100 * dense['early_stop_test_acc'] >= 97.0
