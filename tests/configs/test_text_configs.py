"""The text-CNN configs: paper hyper-parameters, the cpu preset's sparsity,
and one IMP level through the engine on generated token ids."""
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import data as data_lib
from lth_jax import lottery
from lth_jax import models
from lth_jax import pruning
from lth_jax.lottery import strategies
from lth_jax.runs import storage


def get_config(name, arg=''):
  return importlib.import_module(f'configs.text_cnn_{name}').get_config(arg)


def rates(config):
  return strategies.parse_layer_rates(config.pruning.layer_rates,
                                      config.pruning.rate)


@pytest.mark.parametrize('name,dataset', [('newsgroups', 'newsgroups20'),
                                          ('reuters', 'reuters_modapte')])
def test_paper_preset(name, dataset):
  c = get_config(name)
  lottery.validate(c)
  t = c.training
  assert (c.data.name, t.optimizer, t.batch_size, t.steps) == (
      dataset, 'adam', 60, '10ep')
  assert (c.pruning.levels, c.data.text.max_length) == (10, 200)
  assert c.model_kwargs.embed_dim == 300
  assert c.model_kwargs.vocab_size == c.data.text.vocab_size == 60000
  r = rates(c)
  rate = pruning.magnitude.rate_for_path
  assert rate('embedding/embedding', r) == rate('output/kernel', r) == 0.2
  assert rate('conv_11/kernel', r) == 0.15
  tree = {'embedding': {'embedding': jnp.zeros(2)},
          'output': {'kernel': jnp.zeros(2)}}
  assert pruning.ones_like(tree, c.pruning.prunable)['embedding'][
      'embedding'] is not None
  kept = get_config(name, 'prune_embedding=0').pruning.prunable
  assert pruning.ones_like(tree, kept)['embedding']['embedding'] is None
  with pytest.raises(ValueError, match='prune_embedding must be 0 or 1'):
    get_config(name, 'prune_embedding=yes')


def test_newsgroups_drops_headers_footers_quotes_by_default():
  c = get_config('newsgroups', 'preset=cpu,replicates=2')
  assert c.data.text.remove == 'headers,footers,quotes'
  raw = get_config('newsgroups', 'preset=cpu,replicates=2,remove=none')
  assert raw.data.text.remove == ''
  # Another data set: another run directory, never the raw runs' one.
  assert lottery.run_hash(c) != lottery.run_hash(raw)
  assert get_config('newsgroups', 'remove=quotes+headers').data.text.remove \
      == 'headers,quotes'
  with pytest.raises(ValueError, match='unknown newsgroups removal'):
    get_config('newsgroups', 'remove=signatures')
  assert get_config('reuters').data.text.remove == ''
  with pytest.raises(ValueError, match='20 Newsgroups only'):
    get_config('reuters', 'remove=none')
  transfer = importlib.import_module('configs.transfer_text_cnn')
  pair = transfer.get_config('pair=newsgroups_to_reuters,preset=test')
  assert pair.source.data.text.remove == pair.target.data.text.remove == (
      'headers,footers,quotes')


def test_cpu_preset_levels_reach_17_percent_of_the_weights():
  c = get_config('newsgroups', 'preset=cpu,replicates=2')
  lottery.validate(c)
  model = models.get_model(c.model, num_classes=20, **c.model_kwargs)
  params = jax.eval_shape(lambda: model.init(
      jax.random.key(0), jnp.zeros((1, c.data.text.max_length), jnp.int32)
  ))['params']
  masks = pruning.ones_like(params, c.pruning.prunable)
  r = rates(c)
  total = kept = 0
  for path, m in zip(pruning.prunable_paths(masks),
                     pruning.masks.mask_leaves(masks)):
    total += m.size
    kept += round((1 - pruning.magnitude.rate_for_path(path, r))
                  ** c.pruning.levels * m.size)
  assert round(100 * kept / total, 1) == 17.4     # 41.5 % after level 1
  assert c.replicates == 2 and c.sweep.strategy == 'vmap'


def generated_text(multi_label):
  rng = np.random.default_rng(0)
  ids = rng.integers(0, 500, (150, 40)).astype(np.int32)
  labels = ((rng.random((150, 3)) < 0.4).astype(np.float32) if multi_label
            else rng.integers(0, 3, 150).astype(np.int32))
  return data_lib.Dataset('generated', 3, ids[:100], labels[:100],
                          ids[100:120], labels[100:120], ids[120:],
                          labels[120:], multi_label)


def test_one_imp_level_on_generated_multi_label_text(tmp_path):
  config = get_config('reuters', 'preset=test')
  summaries = lottery.run(config, str(tmp_path),
                          dataset=generated_text(True))
  assert [s['level'] for s in summaries] == [0, 1]
  assert 0.79 < summaries[1]['weights_remaining'] < 0.81
  run_dir = tmp_path / lottery.run_hash(config)
  rows = storage.read_jsonl(
      storage.level_dir(run_dir, 0, 1) / 'metrics.jsonl')
  assert {'val_micro_f1', 'val_macro_f1', 'test_micro_f1'} <= set(rows[-1])
  assert 0.0 <= rows[-1]['test_micro_f1'] <= 1.0


def test_reuters_r10_option_keeps_documents_with_its_topics():
  c = get_config('reuters', 'preset=cpu')
  assert (c.data.text.categories, c.data.text.keep_empty) == ('r10', False)
  assert get_config('reuters').data.text.categories == 'modapte90'
  full = get_config('reuters', 'preset=cpu,categories=modapte90')
  assert full.data.text.keep_empty
  assert lottery.run_hash(c) != lottery.run_hash(full)
  with pytest.raises(ValueError, match='Reuters only'):
    get_config('newsgroups', 'categories=r10')
