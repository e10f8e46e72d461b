"""Tables and verdicts of the moons + circles width sweep and its control."""
from lth_jax.studies.structure import sweep


def outcomes(*names, split_at=3):
  return [{'outcome': n, 'levels': 5, 'weights': 100,
           'first_separated': split_at if n.startswith('separated') else None,
           'remaining_at_split': 40 if n.startswith('separated') else None,
           'active_at_split': 30 if n.startswith('separated') else None,
           'test_acc_a_at_split': 0.9, 'test_acc_b_at_split': 0.5}
          for n in names]


SWEEP = {8: outcomes(*['interconnected'] * 4),
         16: outcomes('interconnected', 'degraded', 'interconnected',
                      'separated'),
         32: outcomes('separated', 'separated-degraded', 'separated',
                      'interconnected'),
         64: outcomes(*['separated'] * 4)}


def test_sweep_table_counts_separation_at_any_level_with_its_interval():
  table = sweep.sweep_table(SWEEP).splitlines()
  assert len(table) == 2 + 4
  # width 32: 3 of 4 separate at some level (one of them degrades later).
  assert table[4].startswith('| 32 | 100 | 4 | 4 | 3/4 [0.30, 0.95] | 2 | 1 '
                             '| 0 | 1 | 3 | 40 | 30 |')
  assert '| 0/4 [0.00, 0.49] |' in table[2]


def test_trend_over_all_widths_and_from_a_width_on():
  assert sweep.trend(SWEEP).verdict == 'grows'
  # From width 32 on: 3 of 4 against 4 of 4 is within the spread.
  assert sweep.trend(SWEEP, 32).verdict == 'no trend'
  lines = sweep.trend_lines(SWEEP, [0, 32]).splitlines()
  assert lines[0].startswith('separated fraction over widths 0-64')
  assert 'grows' in lines[0] and 'no trend' in lines[1]
  assert not sweep.trend_lines({64: SWEEP[64]}, [0])  # one width: no test


def test_control_table_and_verdict():
  rows = [{'level': lv, 'test_acc_a': 0.99, 'test_acc_b': b}
          for lv, b in ((0, 0.95), (2, 0.6))]
  arms = {'independent': {'replicates': outcomes(*['separated'] * 5),
                          'rows': rows},
          'dependent': {'replicates': outcomes(*['interconnected'] * 5),
                        'rows': rows}}
  table = sweep.control_table(arms, {'independent': ('a', 'b'),
                                     'dependent': ('a', 'b')}).splitlines()
  assert table[2] == ('| independent | 5 | 5/5 [0.57, 1.00] | 5 | 0 | 0 | 0 '
                      '| 99.0 / 95.0 | 90.0 / 50.0 | 99.0 / 60.0 |')
  assert table[3].startswith('| dependent | 5 | 0/5 [0.00, 0.43] | 0 | 0 | '
                             '0 | 5 |') and table[3].endswith(
                                 '| 99.0 / 95.0 | - | 99.0 / 60.0 |')
  verdict = sweep.compare_line('i', arms['independent']['replicates'], 'd',
                               arms['dependent']['replicates'])
  assert verdict == ("separated fraction, i against d (Fisher's exact test): "
                     'more (statistic +1.00, p = 0.00794)')
  same = sweep.compare_line('a', outcomes('separated', 'interconnected',
                                          'separated'),
                            'b', outcomes('interconnected', 'separated',
                                          'separated'))
  assert 'indistinguishable' in same


def test_control_report_runs_every_arm_once_and_compares_them():
  calls = []

  def study(width, tasks, preset):
    calls.append((width, tasks, preset))
    split = tasks == 'independent' and preset == 'long'
    names = ('circles', 'moons') if tasks == 'independent' else (
        'circles', 'xor')
    rows = [{'level': 0, **{f'test_acc_{t}': 0.9 for t in names}}]
    reps = [dict(o, **{f'test_acc_{t}_at_split': 0.9 for t in names})
            for o in outcomes(*['separated' if split else 'degraded'] * 3)]
    return {'rows': rows, 'replicates': reps}

  lines = sweep.control_report(
      64, ['short', 'long'], {'independent': 'moons_circles',
                              'xor': 'moons_circles_xor'}, study)
  assert sorted(calls) == sorted((64, t, p) for t in ('independent', 'xor')
                                 for p in ('short', 'long'))
  assert lines[1] == 'control at width 64:'
  assert [ln.split(' | ')[0] for ln in lines[4:8]] == [
      '| independent, short', '| xor, short', '| independent, long',
      '| xor, long']
  fisher = lines[-4:]
  assert fisher[0].startswith('separated fraction, independent, short '
                              'against xor, short')
  assert 'indistinguishable' in fisher[0]  # 0 of 3 against 0 of 3
  assert 'independent, long against xor, long' in fisher[1]
  assert 'independent, long against independent, short' in fisher[2]
  assert 'xor, long against xor, short' in fisher[3]
