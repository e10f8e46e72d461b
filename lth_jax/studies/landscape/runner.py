"""The landscape study: curvature, connectivity and basins along IMP.

For every variant (``variants``: per-level prune rates and the high
learning-rate positive control) and every level ``L`` of its trunk, one
row per replicate holds

* the level's test accuracy and fraction of weights remaining;
* the top Hessian eigenvalues and the trace of its solution's training
  loss (``measure.level_curvature``, vmapped over replicates);
* the error barrier on the straight path from level L's solution to level
  L+1's (Paul et al. 2023: the retrained solution of the pruned network;
  its mask is a subset of L's), with level L+1's test accuracy, and the
  same to each control's level L+1 (``random_reinit``: the next mask on a
  fresh init);
* the barrier from the dense solution (level 0) to level L's ticket;
* the largest one-shot prune fraction that stays in the basin, measured
  and predicted from the top eigenvalue (``landscape.basin``).

Missing trunks are trained first (``variants.ensure_trained``); a finished
trunk is only read. Results go to ``<workdir>/<variant>_<run-hash>.json``
with the settings they were measured with; a variant whose file holds the
same settings is not measured again.
"""
import json
import pathlib
import time
from typing import Any, Callable

import ml_collections

from lth_jax import data as data_lib
from lth_jax import errors
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.lottery.experiment import Experiment
from lth_jax.studies.landscape import measure
from lth_jax.studies.landscape import schedule
from lth_jax.studies.landscape import variants as variants_lib

Log = Callable[[str], None]


def variant_spec(s: ml_collections.ConfigDict, variant: variants_lib.Variant
                 ) -> measure.Spec:
  """The study's ``Spec`` for a variant: spectral densities only for
  ``s.density_variants``."""
  spec = measure.spec_from_config(s)
  if variant.name not in s.density_variants:
    spec = spec._replace(density_probes=0)
  return spec


def settings(config: ml_collections.ConfigDict,
             variant: variants_lib.Variant) -> dict[str, Any]:
  """What a variant's numbers depend on besides its trunk."""
  s = config.landscape
  keys = ('hessian_examples', 'hessian_batch_size', 'top_k',
          'lanczos_iterations', 'trace_probes', 'eval_examples',
          'num_alphas', 'basin_threshold', 'bisection_steps')
  return {**{k: s[k] for k in keys},
          'density_probes': variant_spec(s, variant).density_probes}


def test_accuracy(exp: Experiment, replicate: int, level: int,
                  branch: str | None = None) -> float:
  """A level's test accuracy at its early-stopping iteration."""
  return float(level_summary(exp, replicate, level, branch)
               ['early_stop_test_acc'])


def level_summary(exp: Experiment, replicate: int, level: int,
                  branch: str | None = None) -> dict[str, Any]:
  """A finished level's ``summary.json``."""
  return storage.read_json(layout.RunLayout(exp.run_dir).job(
      replicate, level, branch).summary)


def measure_variant(exp: Experiment, variant: variants_lib.Variant,
                    data: measure.Data, spec: measure.Spec,
                    log: Log = print) -> list[dict[str, Any]]:
  """The rows of one variant (see the module docstring)."""
  last = variant.config.pruning.levels
  sol = measure.load_solutions(exp, range(last + 1))
  ctrl = {name: measure.load_solutions(exp, range(1, last + 1), name)
          for name in variant.controls}
  rows = []
  for level in range(last + 1):
    start = time.time()
    curv = measure.level_curvature(exp, level, sol[level], data, spec)
    for r, c in enumerate(curv):
      row = {'variant': variant.name, 'rate': variant.rate,
             'lr_factor': variant.lr_factor, 'rule': variant.rule,
             'level': level,
             'replicate': r, 'test_acc': test_accuracy(exp, r, level),
             **{k: level_summary(exp, r, level)[k] for k in
                ('weights_remaining', 'early_stop_step')}, **c}
      row.update(measure.basin(exp, sol[level][r], data, spec,
                               c['lambda_max']))
      if level < last:
        rec = measure.path(exp, r, sol[level][r], sol[level + 1][r], data,
                           spec.num_alphas)
        row.update(barrier_next=rec['test']['instability'],
                   train_barrier_next=rec['train']['instability'],
                   loss_barrier_next=rec['train']['loss_barrier'],
                   path_next_test_error=rec['test']['error'],
                   next_test_acc=test_accuracy(exp, r, level + 1))
        for name in variant.controls:
          rec = measure.path(exp, r, sol[level][r], ctrl[name][level + 1][r],
                             data, spec.num_alphas)
          row[f'barrier_next_{name}'] = rec['test']['instability']
          row[f'next_test_acc_{name}'] = test_accuracy(exp, r, level + 1,
                                                       name)
      if level > 0:
        rec = measure.path(exp, r, sol[0][r], sol[level][r], data,
                           spec.num_alphas)
        row['barrier_dense'] = rec['test']['instability']
      rows.append(row)
    log(f'{variant.name} level {level}: lambda_max '
        f'{[round(c["lambda_max"], 2) for c in curv]}, '
        f'{time.time() - start:.0f} s')
  return rows


def result_path(workdir: str, variant: variants_lib.Variant,
                trunk_workdir: str) -> pathlib.Path:
  return pathlib.Path(workdir) / (
      f'{variant.name}_{variants_lib.run_dir(variant, trunk_workdir).name}'
      '.json')


def run(config: ml_collections.ConfigDict, trunk_workdir: str, workdir: str,
        dataset: Any = None, log: Log = print) -> list[dict[str, Any]]:
  """Trains what is missing, measures every variant; returns all rows.

  Args:
    config: ``trunk`` (a lottery config) and ``landscape`` (the study; see
      ``configs/landscape_lenet300_mnist.py``).
    trunk_workdir: where the variants' trunks are (or are trained).
    workdir: where the study writes its results (not the trunk's).
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).
    log: progress lines.
  """
  if pathlib.Path(workdir).resolve() == pathlib.Path(trunk_workdir).resolve():
    raise errors.InputError(
        '--workdir must differ from --trunk_workdir: the study '
        'never writes its results into the trunks.')
  s = config.landscape
  todo = variants_lib.variants(config)
  dataset = dataset or data_lib.get_dataset(config.trunk.data)
  for variant in todo:
    if variant.rule:
      schedule.ensure_trained(variant.config, trunk_workdir, s,
                              variant_spec(s, variant), dataset, log)
    else:
      variants_lib.ensure_trained(variant, trunk_workdir, dataset, log)
  rows = []
  for variant in todo:
    want = settings(config, variant)
    out = result_path(workdir, variant, trunk_workdir)
    if out.exists() and storage.read_json(out)['settings'] == want:
      rows += storage.read_json(out)['rows']
      continue
    exp = Experiment.setup(variant.config, trunk_workdir, dataset)
    data = measure.study_data(exp, s.hessian_examples, s.hessian_batch_size,
                              s.eval_examples)
    new = {'settings': want,
           'rows': measure_variant(exp, variant, data,
                                   variant_spec(s, variant), log)}
    storage.write_json(out, new)
    rows += json.loads(json.dumps(new['rows']))  # as a later run reads it
  return rows
