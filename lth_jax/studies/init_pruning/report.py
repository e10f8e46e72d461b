"""Tables for pruning at init against IMP, and the sanity-check verdicts.

Rows are ``tables.aggregate`` rows (one per branch and level: mean, min
and max of the early-stop test accuracy over replicates, in percent).

An ablation *hurt* a subject at a level when the 95 % interval of the
ablated branch's mean accuracy minus the subject's lies below zero
(``verdicts.compare``, paired: both are branches of one trunk and
replicate i shares its seeds); above zero it *helped*; across zero the
two are *indistinguishable*; fewer than 3 replicates decide nothing.
"""
import pathlib
from typing import Any, Sequence

import numpy as np

from lth_jax.analysis import tables
from lth_jax.analysis import verdicts as verdicts_lib
from lth_jax.runs import storage

PathLike = str | pathlib.Path
#: The IMP ticket's ablations are the trunk's classic controls:
#: ``random_reinit`` is ``imp_reinit``; ``random_prune_layer`` draws from
#: the distribution of ``imp_shuffled`` (a uniform permutation of each
#: layer's mask).
ALIASES = {'imp_shuffled': 'random_prune_layer', 'imp_reinit': 'random_reinit'}
ABLATIONS = ('shuffled', 'reinit', 'inverted')


def load_rows(run_dirs: Sequence[PathLike], branches: Sequence[str]
              ) -> list[dict[str, Any]]:
  """Aggregated rows of the trunk (first run) and of each branch, taken
  from the first run directory that holds it (copies of one trunk)."""
  summaries = storage.collect(run_dirs[0])
  for name in branches:
    for d in run_dirs:
      found = storage.collect(d, name)
      if found:
        summaries += found
        break
  return tables.aggregate(summaries)


def _index(rows):
  return {(r['branch'], r['level']): r for r in rows}


def _cell(r: dict[str, Any] | None) -> str:
  if r is None:
    return '-'
  return (f"{r['early_stop_test_acc_mean']:.2f} "
          f"({r['early_stop_test_acc_min']:.2f}-"
          f"{r['early_stop_test_acc_max']:.2f})")


def comparison_markdown(rows: list[dict[str, Any]], branches: Sequence[str],
                        labels: dict[str, str] | None = None,
                        levels: Sequence[int] | None = None) -> str:
  """Weights remaining x branches, at ``levels`` (default: the trunk levels
  that some branch ran).

  >>> r = lambda b, l, a: {'branch': b, 'level': l, 'replicates': 1,
  ...     'weights_remaining_pct': 50., 'early_stop_test_acc_mean': a,
  ...     'early_stop_test_acc_min': a, 'early_stop_test_acc_max': a}
  >>> print(comparison_markdown([r('trunk', 1, 98.), r('snip', 1, 97.)],
  ...                           ['snip']))
  | weights % | IMP | snip |
  |---|---|---|
  | 50.0 | 98.00 (98.00-98.00) | 97.00 (97.00-97.00) |
  """
  labels = labels or {}
  at = _index(rows)
  if levels is None:
    levels = sorted({lv for (b, lv) in at if b in branches})
  head = ['weights %', 'IMP'] + [labels.get(b, b) for b in branches]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for lv in levels:
    trunk = at.get(('trunk', lv))
    pcts = [r['weights_remaining_pct'] for (_, l), r in at.items() if l == lv]
    if not pcts:
      continue  # nothing ran at this level
    pct = trunk['weights_remaining_pct'] if trunk else pcts[0]
    cells = [f'{pct:.1f}', _cell(trunk)] + [_cell(at.get((b, lv)))
                                           for b in branches]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


#: Each ``verdicts`` outcome as a sanity-check word.
ABLATION_WORDS = {verdicts_lib.WORSE: 'hurt', verdicts_lib.BETTER: 'helped',
                  verdicts_lib.INDISTINGUISHABLE: 'indistinguishable',
                  verdicts_lib.INSUFFICIENT: verdicts_lib.INSUFFICIENT}


def hurt(subject: dict[str, Any], ablated: dict[str, Any]
         ) -> verdicts_lib.Comparison:
  """The ablated branch against its subject (paired when both hold the
  same replicates); its ``verdict`` 'worse' means hurt.

  >>> row = lambda *v: {'early_stop_test_acc_values': list(v),
  ...                   'replicate_ids': [0, 1, 2]}
  >>> hurt(row(98.0, 97.9, 98.1), row(97.5, 97.3, 97.7)).verdict
  'worse'
  """
  return verdicts_lib.compare_rows(ablated, subject, paired=True)


def ablation_name(subject: str, ablation: str,
                  present: set[str]) -> str | None:
  """The branch holding ``subject``'s ``ablation`` (aliases for IMP)."""
  name = f'{subject}_{ablation}'
  if name in present:
    return name
  alias = ALIASES.get(name)
  return alias if alias in present else None


def ablation_markdown(rows: list[dict[str, Any]], subjects: Sequence[str],
                      level: int) -> str:
  """Per subject at ``level``: its accuracy, each ablation's change in
  mean accuracy (points) with its 95 % interval and the verdict
  (``hurt``)."""
  at = _index(rows)
  present = {b for (b, lv) in at if lv == level}
  head = ['subject', 'accuracy'] + [a for a in ABLATIONS]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for subject in subjects:
    base = at.get(('trunk' if subject == 'imp' else subject, level))
    if base is None:
      continue
    cells = ['IMP ticket' if subject == 'imp' else subject, _cell(base)]
    for ablation in ABLATIONS:
      name = ablation_name(subject, ablation, present)
      if name is None:
        cells.append('not run')
        continue
      c = hurt(base, at[(name, level)])
      interval = '' if np.isnan(c.low) else f' [{c.low:+.2f}, {c.high:+.2f}]'
      alias = f' ({name})' if name != f'{subject}_{ablation}' else ''
      cells.append(f'{c.diff:+.2f}{interval}: {ABLATION_WORDS[c.verdict]}'
                   f'{alias}')
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def verdicts(rows: list[dict[str, Any]], subjects: Sequence[str],
             level: int) -> dict[str, dict[str, str]]:
  """``{subject: {ablation: word}}`` at ``level`` (an ``ABLATION_WORDS``
  value), for the ablations that ran (IMP's through ``ALIASES``)."""
  at = _index(rows)
  present = {b for (b, lv) in at if lv == level}
  out = {}
  for subject in subjects:
    base = at.get(('trunk' if subject == 'imp' else subject, level))
    if base is None:
      continue
    out[subject] = {}
    for ablation in ABLATIONS:
      name = ablation_name(subject, ablation, present)
      if name is not None:
        out[subject][ablation] = ABLATION_WORDS[
            hurt(base, at[(name, level)]).verdict]
  return out


def finding_markdown(found: dict[str, dict[str, str]]) -> str:
  """Frankle et al. 2021's finding against ``verdicts``: the IMP ticket
  is hurt by shuffling and re-initialisation, pruning at init is not.

  >>> print(finding_markdown({'imp': {'shuffled': 'hurt', 'reinit': 'hurt'},
  ...                         'snip': {'shuffled': 'hurt',
  ...                                  'reinit': 'indistinguishable'}}))
  paper: IMP hurt by both; pruning at init hurt by neither.
  * shuffled: IMP hurt; hurt: snip
  * reinit: IMP hurt; indistinguishable: snip
  """
  lines = ['paper: IMP hurt by both; pruning at init hurt by neither.']
  for ablation in ('shuffled', 'reinit'):
    imp = found.get('imp', {}).get(ablation, 'not run')
    by_word: dict[str, list[str]] = {}
    for s, v in found.items():
      if s != 'imp' and ablation in v:
        by_word.setdefault(v[ablation], []).append(s)
    groups = ''.join(f'; {w}: {", ".join(names)}'
                     for w, names in by_word.items())
    lines.append(f'* {ablation}: IMP {imp}{groups}')
  return '\n'.join(lines)


def layer_markdown(run_dir: PathLike, branches: Sequence[str],
                   level: int) -> str:
  """Per-layer percent of weights kept at ``level`` (replicate 0)."""
  rows = []
  for b in ['trunk', *branches]:
    found = [s for s in storage.collect(run_dir, None if b == 'trunk' else b)
             if s['level'] == level and s['replicate'] == 0]
    if found:
      rows.append((b, found[0]['layers']))
  if not rows:
    return ''
  names = list(rows[0][1])
  lines = ['| branch | ' + ' | '.join(names) + ' |',
           '|' + '---|' * (len(names) + 1)]
  for b, layers in rows:
    lines.append(f"| {'IMP' if b == 'trunk' else b} | " + ' | '.join(
        f'{100 * layers[n]:.2f}' for n in names) + ' |')
  return '\n'.join(lines)


def dead_input_share(kernel_mask: Any, images: Any) -> float:
  """Share of a first dense layer's kept weights whose input pixel is the
  same in every training image (it can carry no signal).

  Args:
    kernel_mask: ``[inputs, units]`` bool mask of the first layer.
    images: ``[N, ...]`` training images, flattened to ``inputs`` values.

  >>> dead_input_share([[True, False], [True, True]], [[0., 1.], [0., 2.]])
  0.3333333333333333
  """
  mask = np.asarray(kernel_mask, bool)
  x = np.asarray(images).reshape(len(images), -1)
  dead = x.min(0) == x.max(0)
  return float(mask[dead].sum() / max(mask.sum(), 1))
