"""The lottery on real MNIST: a ticket at 51 % of weights still wins."""
from lth_jax import lottery

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
