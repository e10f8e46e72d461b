r"""Pruning at init against IMP: comparison and ablation tables, figure.

  python -m experiments.init_pruning_report \
      --runs=/work/results/i21/5019b75555a6,/work/results/lth_lenet/5019b75555a6 \
      --levels=3,7,11,15,18,21 --ablation_levels=15,21 \
      --figure=docs/figures/pruning_at_init_lenet300.png

``--runs``: run directories (``workdir/<run-hash>``) of one trunk; each
branch is read from the first that holds it, the trunk from the first.
Prints markdown tables (comparison at ``--levels``, ablations at
``--ablation_levels`` with the paper's finding checked, per-layer
fractions) and writes the accuracy figure.
"""
from absl import app
from absl import flags
from absl import logging

from lth_jax import data
from lth_jax import lottery
from lth_jax import provenance
from lth_jax.studies.init_pruning import report as report
from lth_jax.analysis import plots
from lth_jax.runs import layout
from lth_jax.runs import storage

_RUNS = flags.DEFINE_list('runs', None, 'Run directories.', required=True)
_BRANCHES = flags.DEFINE_list(
    'branches', ['snip', 'grasp', 'grasp_abs', 'synflow', 'magnitude_init',
                 'random_prune_global', 'random_prune_layer'],
    'Branches in the comparison.')
_SUBJECTS = flags.DEFINE_list(
    'subjects', ['imp', 'snip', 'grasp', 'grasp_abs', 'synflow',
                 'magnitude_init'], 'Subjects of the ablations.')
_LEVELS = flags.DEFINE_list('levels', [], 'Levels of the comparison table '
                            '(default: every level some method ran).')
_ABLATION_LEVELS = flags.DEFINE_list('ablation_levels', ['15'],
                                     'Levels of the ablation tables.')
_FIGURE = flags.DEFINE_string('figure', None, 'Accuracy figure (PNG).')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every load at INFO
  ablated = [f'{s}_{a}' for s in _SUBJECTS.value for a in report.ABLATIONS]
  names = list(dict.fromkeys(_BRANCHES.value + ablated
                             + list(report.ALIASES.values())))
  rows = report.load_rows(_RUNS.value, names)
  ran = [int(x) for x in _LEVELS.value] or sorted(
      {r['level'] for r in rows if r['branch'] in _BRANCHES.value
       and r['branch'] not in report.ALIASES.values()})
  print(report.comparison_markdown(rows, _BRANCHES.value, levels=ran), '\n')
  for level in map(int, _ABLATION_LEVELS.value):
    print(f'ablations at level {level}:\n')
    print(report.ablation_markdown(rows, _SUBJECTS.value, level), '\n')
    print(report.finding_markdown(report.verdicts(rows, _SUBJECTS.value,
                                                  level)), '\n')
    print(report.layer_markdown(_RUNS.value[0], _BRANCHES.value, level),
          '\n')
    images = data.get_dataset(lottery.default_config().data).train_images
    for name in ['trunk', *names]:
      for run in _RUNS.value:
        path = layout.RunLayout(run).job(
            0, level, None if name == 'trunk' else name).masks
        if storage.tree_exists(path):
          share = report.dead_input_share(
              storage.load_tree(path)['hidden_0']['kernel'], images)
          print(f'{name}: {100 * share:.1f} % of kept hidden_0 weights read '
                'constant pixels (replicate 0)')
          break
  if _FIGURE.value:
    shown = [r for r in rows if r['branch'] in ['trunk', *_BRANCHES.value]]
    plots.plot_accuracy(shown, _FIGURE.value,
                        'LeNet-300-100 / MNIST: IMP vs pruning at init')
    print(f'figure: {_FIGURE.value}')
  print(provenance.note(None, {'runs': _RUNS.value,
                               'branches': _BRANCHES.value}))


if __name__ == '__main__':
  app.run(main)
