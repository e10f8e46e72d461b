"""One text config's result tables: verdicts of the ticket and its
controls per metric, and the linear baselines on the same data.

Output: ``<run dir>/nlp_<tag>/`` (``RunLayout.study_dir``; the tag hashes
the metrics, inputs and classifiers) with ``tables.md`` and
``baseline.json``.
"""
import hashlib
import json
import pathlib
from typing import Any, Sequence

import ml_collections

from lth_jax import files
from lth_jax.lottery import config as config_lib
from lth_jax.runs import layout
from lth_jax.studies.nlp import baseline
from lth_jax.studies.nlp import report

STUDY = 'nlp'


def default_metrics(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """Micro and macro F1 on multi-label Reuters, accuracy otherwise."""
  if config.data.name == 'reuters_modapte':
    return ('micro_f1', 'macro_f1')
  return ('acc',)


def out_dir(config: ml_collections.ConfigDict, workdir: Any,
            options: dict[str, Any]) -> pathlib.Path:
  """The study folder of ``config``'s run for these ``options``."""
  tag = hashlib.sha256(json.dumps(options, sort_keys=True).encode()
                       ).hexdigest()[:8]
  return layout.RunLayout.of(workdir, config_lib.run_hash(config)
                             ).study_dir(STUDY, tag)


def run(config: ml_collections.ConfigDict, workdir: Any,
        metrics: Sequence[str] = (),
        inputs: Sequence[str] = baseline.INPUTS,
        classifiers: Sequence[str] = ('linear_svc',),
        verdicts: bool = True) -> dict[str, Any]:
  """Writes and returns the tables of ``config``'s finished run.

  Args:
    config: the text lottery config the trunk and branches ran with.
    workdir: their ``--workdir``.
    metrics: test metrics of the verdict tables (default
      ``default_metrics``).
    inputs, classifiers: of the linear baselines (``baseline.run``).
    verdicts: False: the baselines only (no run needed).

  Returns:
    ``{'markdown', 'dir', 'baseline'}``.

  Raises:
    MissingInputError: the trunk has no finished dense level.
  """
  metrics = (tuple(metrics) or default_metrics(config)) if verdicts else ()
  run_dir = config_lib.run_dir(config, workdir)
  parts = []
  for metric in metrics:
    records = report.verdict_rows(report.metric_rows(run_dir, metric))
    parts.append(f'Test {metric} x 100, replicates '
                 f"{records[0]['row']['replicate_ids']}:\n\n"
                 + report.verdict_markdown(records, metric))
  fits = baseline.run(config.data, inputs, classifiers)
  parts.append('Linear baselines (same split and labels):\n\n'
               + report.baseline_markdown(fits))
  markdown = '\n\n'.join(parts)
  out = out_dir(config, workdir, {'metrics': metrics, 'inputs': list(inputs),
                                  'classifiers': list(classifiers)})
  out.mkdir(parents=True, exist_ok=True)
  files.write_json(out / 'baseline.json', fits)
  files.write_text_atomic(out / 'tables.md', markdown + '\n')
  return {'markdown': markdown, 'dir': out, 'baseline': fits}
