r"""A cheap 20 Newsgroups text-CNN trunk for the export speed table.

The ``cpu`` preset of ``configs/text_cnn_newsgroups.py`` (vocabulary
5,000, 100 tokens, embedding 16, headers, footers and quotes removed,
Adam 1e-2, 60 % / 45 % per level) trained for 1 epoch per level instead
of 3 and for 3 levels instead of the preset's 2, validated every 60
steps, one replicate: its 4 trainings fit a few minutes on a loaded 2-core
machine. It exists to give
``benchmarks.sparse_inference`` a real IMP ticket of the text CNN (41.5 %,
17.4 % and 7.4 % of the 89,792 prunable weights), not to study accuracy.

  LTH_DATA_DIR=../shared/data python -m experiments.lottery \
      --config=configs/export_text_cnn_newsgroups.py --workdir=results/export
"""
import ml_collections

from configs import text_cnn_presets


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The ``cpu`` 20 Newsgroups config at 1 epoch per level, 3 levels.

  ``arg`` takes the options of ``text_cnn_presets`` except ``preset``
  (``levels=``, ``seed=``, ...).

  >>> c = get_config()
  >>> c.training.steps, c.pruning.levels, c.data.text.remove
  ('1ep', 3, 'headers,footers,quotes')
  """
  options = f'preset=cpu,levels=3,{arg}' if arg else 'preset=cpu,levels=3'
  c = text_cnn_presets.text_config('newsgroups20', options)
  with c.unlocked():
    c.training.steps = '1ep'
    c.training.eval_every = '60it'
  return c
