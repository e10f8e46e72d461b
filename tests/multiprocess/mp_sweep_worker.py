"""One process of a multi-process sweep (see test_multiprocess_sweep.py).

  python tests/multiprocess/mp_sweep_worker.py WORKDIR STRATEGY
"""
import sys

import mp_launch as launch


def main(workdir: str, strategy: str) -> None:
  launch.initialize()
  from lth_jax import lottery  # pylint: disable=import-outside-toplevel
  from conftest import tiny_dataset  # pylint: disable=import-outside-toplevel
  import mp_sweep_config  # pylint: disable=import-outside-toplevel
  config = mp_sweep_config.sweep_config()
  config.sweep.strategy = strategy
  lottery.run(config, workdir, dataset=tiny_dataset())
  print('done', flush=True)


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2])
