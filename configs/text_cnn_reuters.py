r"""The text-CNN ensemble on Reuters-21578 ModApte (90 topics; multi-label,
sigmoid cross-entropy per topic; micro-F1 at 0.5).

See ``configs/text_cnn_presets.py`` for the presets and options.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.lottery --workdir=results/nlp \
      --config=configs/text_cnn_reuters.py:preset=cpu,replicates=2
"""
import ml_collections

from configs import text_cnn_presets


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The Reuters ModApte config; ``arg`` holds the options."""
  return text_cnn_presets.text_config('reuters_modapte', arg)
