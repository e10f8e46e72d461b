r"""Ticket transfer between 20 Newsgroups and Reuters-21578 (the text-CNN
ensemble of ``configs/text_cnn_presets.py``), through one shared vocabulary.

Both sides build their vocabulary from the pooled training documents of
both corpora (``data.text.shared_vocabulary='newsgroups20,reuters_modapte'``),
so a token id means the same word on both and the embedding, its mask and
the convolutions transfer; the output layer is re-initialised for the
target's classes (20 single-label / 90 multi-label), its mask dense.

  export LTH_DATA_DIR=../shared/data
  for side in source target; do python -m experiments.lottery \
      --config=configs/transfer_text_cnn.py:pair=newsgroups_to_reuters,side=$side \
      --workdir=results/transfer_text/trunks; done
  python -m experiments.transfer --workdir=results/transfer_text/trunks \
      --target_workdir=results/transfer_text/out \
      --config=configs/transfer_text_cnn.py:pair=newsgroups_to_reuters

Options (comma-separated): ``pair=newsgroups_to_reuters|reuters_to_newsgroups``
(required), ``side=source|target``, ``preset=cpu|paper|test`` (default
``cpu``: the text-CNN presets' 2 IMP levels), ``replicates=N`` (default
3), ``at=0+1+2`` (the levels transferred, ``+``-separated, in training
order; paper: ``0+5+10``, test: ``0+1``), ``seed=S``.
"""
import ml_collections

from configs import text_cnn_presets
from configs import transfer_pairs

#: Sides: name -> data set.
TEXT_SIDES = {'newsgroups': 'newsgroups20', 'reuters': 'reuters_modapte'}
SHARED_VOCABULARY = ','.join(sorted(TEXT_SIDES.values()))
#: pair -> (source side, target side, head regex).
PAIRS = {
    'newsgroups_to_reuters': ('newsgroups', 'reuters', '^output/'),
    'reuters_to_newsgroups': ('reuters', 'newsgroups', '^output/'),
}
DEFAULT_LEVELS = {'cpu': '0+1+2', 'paper': '0+5+10', 'test': '0+1'}


def side_config(side: str, preset: str, replicates: int,
                seed: int) -> ml_collections.ConfigDict:
  """The lottery config of one side, on the shared vocabulary."""
  if side not in TEXT_SIDES:
    raise ValueError(f'unknown side {side!r}; known: '
                     f'{", ".join(TEXT_SIDES)}.')
  config = text_cnn_presets.text_config(
      TEXT_SIDES[side], f'preset={preset},replicates={replicates},seed={seed}')
  config.data.text.shared_vocabulary = SHARED_VOCABULARY
  # Both sides pool the same documents into one vocabulary.
  config.data.text.remove = text_cnn_presets.NEWSGROUPS_REMOVE
  return config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """A side's lottery config, or the transfer config of a pair."""
  return transfer_pairs.pair_config(arg, PAIRS, side_config,
                                    ('cpu', 'paper', 'test'), DEFAULT_LEVELS)
