"""Figure axes (lth_jax.analysis.plots)."""
from lth_jax.analysis import plots


def row(branch, level, pct, acc):
  return {'run': '', 'branch': branch, 'level': level,
          'weights_remaining_pct': pct, 'early_stop_test_acc_mean': acc,
          'early_stop_test_acc_min': acc - 0.1,
          'early_stop_test_acc_max': acc + 0.1}


def test_x_limits_show_branch_points_sparser_than_the_trunk(tmp_path,
                                                             monkeypatch):
  # The trunk stops at 51.2 %; a transferred ticket was trained at 3.6 %.
  rows = [row('trunk', lvl, 100 * 0.8 ** lvl, 98.0) for lvl in range(4)]
  rows += [row('transferred ticket', 15, 3.6, 97.0)]
  figures = []
  monkeypatch.setattr(plots.plt, 'close', figures.append)
  plots.plot_accuracy(rows, tmp_path / 'a.png')
  (ax,) = figures[0].axes
  left, right = ax.get_xlim()
  assert left > 100 and right < 3.6   # reversed, every point inside
  # Ticks stay at the trunk's levels.
  assert [t.get_text() for t in ax.get_xticklabels()] == [
      '100', '80', '64', '51.2']
  assert plots.weights_limits(rows) == (100 * 1.15, 3.6 / 1.15)


def test_every_trunk_level_has_a_labelled_tick(tmp_path, monkeypatch):
  # The 21-level trunk of the README: 41.1 % (level 4) had no tick when
  # only 8 of the levels were ticked.
  pcts = [100.0, 80.0, 64.1, 51.3, 41.1, 32.9, 26.3, 21.1, 16.9, 13.5, 10.8,
          8.7, 7.0, 5.6, 4.5, 3.6, 2.9, 2.3, 1.9, 1.5, 1.0]
  rows = [row('trunk', lvl, pct, 98.0) for lvl, pct in enumerate(pcts)]
  rows += [row('random_reinit', lvl, pct, 97.0)
           for lvl, pct in enumerate(pcts) if lvl]
  figures = []
  monkeypatch.setattr(plots.plt, 'close', figures.append)
  plots.plot_accuracy(rows, tmp_path / 'a.png')
  (ax,) = figures[0].axes
  figures[0].canvas.draw()
  assert [float(t.get_text()) for t in ax.get_xticklabels()] == pcts
  assert list(ax.get_xticks()) == pcts
