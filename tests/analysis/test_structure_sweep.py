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
  verdict = sweep.control_verdict(arms['independent']['replicates'],
                                  arms['dependent']['replicates'])
  assert verdict.endswith('more (statistic +1.00, p = 0.00794)')
  same = sweep.control_verdict(outcomes('separated', 'interconnected',
                                        'separated'),
                               outcomes('interconnected', 'separated',
                                        'separated'))
  assert 'indistinguishable' in same
