r"""Tickets against the rest of sparse training: text CNN, 20 Newsgroups.

The second domain (``configs/sparse_comparison_presets.py`` holds what
every comparison shares, IMP's rate and the densities 50, 20, 10, 5 and
2 % included):

  export LTH_DATA_DIR=../shared/data
  python -m experiments.sparse_comparison --workdir=results/sparse_20ng \
      --config=configs/sparse_comparison_text_cnn_newsgroups.py:preset=cpu

Model and data: ``configs/text_cnn_newsgroups.py`` (the seed thesis's
16-module text-CNN ensemble; 20 Newsgroups without headers, footers and
quoted replies; 1,000 training documents held out for validation). The
convolutions and the output layer are pruned; the embedding is not
(``prune_embedding=0``): a lookup has no input matrix for Wanda and
SparseGPT and costs no multiply-adds. Presets:

* ``full``: the thesis's model and training (vocabulary 60,000,
  embedding 300, 200 tokens, Adam 1e-3, batch 60, 10 epochs per run and
  IMP level), 5 replicates, fine-tuning 1 epoch, every method but SynFlow
  (its all-ones input is not a token sequence);
* ``cpu``: the text config's ``cpu`` model (vocabulary 5,000, embedding
  16, 100 tokens, Adam 1e-2), 2 epochs per run and level (342 steps,
  validation every 86), 3 replicates, fine-tuning 43 steps, SET/RigL
  updates every 20 steps, and IMP's rate, densities and methods of the
  Fashion-MNIST ``cpu`` preset;
* ``test``: the text config's ``test`` model, 4 steps, 2 levels.
"""
import ml_collections

from configs import sparse_comparison_conv_fashion as fashion
from configs import sparse_comparison_presets as presets_lib
from configs import text_cnn_newsgroups

Preset = presets_lib.Preset
#: Every method but SynFlow, whose all-ones input is not a token sequence.
TEXT_METHODS = ','.join(m for m in presets_lib.ALL_METHODS.split(',')
                        if m.split(':')[0] != 'synflow')
PRESETS = {
    'full': Preset('10ep', '1ep', '1ep', 17, 5, TEXT_METHODS),
    'cpu': Preset('2ep', '86it', '43it', 5, 3, fashion.CPU_METHODS,
                  fashion.CPU_DENSITIES, presets_lib.COARSE_IMP_RATE, 20),
    'test': Preset('4it', '2it', '2it', 2, 1, TEXT_METHODS, '0.5'),
}
#: This study's preset -> the text config's.
TEXT_PRESETS = {'full': 'paper', 'cpu': 'cpu', 'test': 'test'}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The comparison config; ``arg`` holds the options."""
  return presets_lib.comparison_config(
      lambda p: text_cnn_newsgroups.get_config(
          f'preset={TEXT_PRESETS[p]},prune_embedding=0'), PRESETS, arg)
