r"""The text-CNN ensemble on 20 Newsgroups (accuracy; softmax).

See ``configs/text_cnn_presets.py`` for the presets and options.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.lottery --workdir=results/nlp \
      --config=configs/text_cnn_newsgroups.py:preset=cpu,replicates=2
  python -m experiments.branch --workdir=results/nlp \
      --config=configs/text_cnn_newsgroups.py:preset=cpu,replicates=2 \
      --branch=random_reinit
"""
import ml_collections

from configs import text_cnn_presets


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The 20 Newsgroups config; ``arg`` holds the options."""
  return text_cnn_presets.text_config('newsgroups20', arg)
