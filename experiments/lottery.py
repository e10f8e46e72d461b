r"""Runs (or resumes) an IMP lottery experiment, then writes its report.

  python -m experiments.lottery \
      --config=configs/lenet300_mnist.py:preset=cpu --workdir=results/lenet

Any field can be overridden: ``--config.training.steps=2000it``. Results go
to ``<workdir>/<run-hash>/``: per level masks, params, metrics; at the end
``results.csv``, ``accuracy.png`` and ``early_stop.png`` there.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax import lottery
from lth_jax.training import replicates

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for results.',
                               required=True)
_DISTRIBUTED = flags.DEFINE_bool(
    'distributed', False, 'Call jax.distributed.initialize() (multi-host).')
_COORDINATOR = flags.DEFINE_string(
    'coordinator_address', None, 'With --distributed: host:port of process '
    '0 (default: found by JAX on Cloud TPU, SLURM, Open MPI, Kubernetes).')
_NUM_PROCESSES = flags.DEFINE_integer(
    'num_processes', None, 'With --distributed: the number of processes.')
_PROCESS_ID = flags.DEFINE_integer(
    'process_id', None, 'With --distributed: this process (0-based).')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  if _DISTRIBUTED.value:
    import jax  # pylint: disable=import-outside-toplevel
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                               num_processes=_NUM_PROCESSES.value,
                               process_id=_PROCESS_ID.value)
  elif config.replicates > 1 and config.sweep.strategy in ('auto', 'spread'):
    # One CPU device per core (before JAX starts), so 'auto' can spread
    # replicates over the cores; no effect on GPU/TPU or if XLA_FLAGS chose.
    replicates.split_host_cpu()
  lottery.run(config, _WORKDIR.value)
  cli.print_report(config, _WORKDIR.value)
  print(provenance.note(f'{_WORKDIR.value}/{lottery.run_hash(config)}',
                        config))


if __name__ == '__main__':
  cli.run(main)
