r"""The error landscape of IMP on LeNet-300-100 / MNIST (Paul et al. 2023).

Per-level prune rates 10, 20, 40, 60 and 80 % (3 replicates, vmapped), a
random-reinit control at 20 %, two positive controls that should break
the connectivity between levels: 95 % per level, and 20 % per level at ten
times the learning rate (Adam 1.2e-2), and IMP whose per-level fraction is
chosen from the previous level's landscape (rules ``predicted`` and
``measured``, ``lth_jax/studies/landscape/schedule.py``);
per level the top Hessian eigenvalues, trace and spectral density, the
error barrier to the next level, to the dense network and to the control,
and the largest one-shot prune fraction (measured and predicted from
curvature):

  export LTH_DATA_DIR=../shared/data
  python -m experiments.landscape \
      --config=configs/landscape_lenet300_mnist.py:preset=cpu \
      --trunk_workdir=results/landscape_trunks --workdir=results/landscape

Presets: ``cpu`` (2,000 iterations per level, at most 4 levels per rate,
Hessians on 2,000 training examples, 11 points per path: about 30 minutes
on 2 busy cores), ``full`` (the paper's LeNet training, 50,000 iterations
per level, rates down to 1 % of the weights (at most 20 levels), Hessians
and paths on 10,000 training examples, 30 points per path), ``test``
(plumbing only). Option ``replicates=N``.
"""
import ml_collections

from configs import lenet300_mnist
from configs import options as options_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The study config; ``arg``: ``preset=cpu|full|test,replicates=N``."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'cpu')
  replicates = int(options.pop('replicates', 3))
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'preset, replicates.')
  trunk_preset = {'cpu': 'cpu', 'full': 'paper', 'test': 'test'}.get(preset)
  if trunk_preset is None:
    raise options_lib.unknown_preset(preset, ('cpu', 'full', 'test'))
  config = ml_collections.ConfigDict()
  config.trunk = lenet300_mnist.get_config(
      f'preset={trunk_preset},replicates={replicates}')
  config.trunk.unlock()
  config.trunk.sweep.strategy = 'vmap'
  config.trunk.progress = False
  config.trunk.tensorboard = False
  s = config.landscape = ml_collections.ConfigDict()
  # The paper's range, and 95 % per level: a positive control that must
  # break the connectivity between levels.
  s.rates = (0.1, 0.2, 0.4, 0.6, 0.8, 0.95)
  s.min_density = 0.01
  s.max_levels = 20
  s.control_rate = 0.2
  s.controls = ('random_reinit',)
  s.high_lr_factors = (10.0,)     # the positive control's learning rates
  # IMP with each level's fraction chosen from the previous level's
  # landscape (lth_jax/studies/landscape/schedule.py), against fixed rates.
  s.rules = ('predicted', 'measured')
  s.hessian_examples = 10000
  s.hessian_batch_size = 1000
  s.top_k = 5
  s.lanczos_iterations = 20
  s.trace_probes = 10
  s.density_probes = 4            # SLQ probes (spectral density per level)
  s.density_variants = ('rate_20', 'rate_80', 'rule_measured')
  s.eval_examples = 10000         # training examples for path metrics
  s.num_alphas = 30
  s.barrier_threshold = 0.02      # error barrier: linearly connected below
  s.basin_threshold = 0.1         # loss increase (nats) that leaves a basin
  s.bisection_steps = 8
  s.seed = 31
  if preset == 'cpu':
    config.trunk.training.steps = '2000it'
    config.trunk.training.eval_every = '500it'
    s.max_levels = 4
    s.hessian_examples = 2000
    s.lanczos_iterations = 16
    s.trace_probes = 6
    s.density_probes = 2
    s.eval_examples = 2000
    s.num_alphas = 11
  elif preset == 'test':
    s.rates = (0.2, 0.8)
    s.max_levels = 2
    s.high_lr_factors = ()
    s.hessian_examples = s.eval_examples = 64
    s.hessian_batch_size = 32
    s.top_k = 2
    s.lanczos_iterations = 4
    s.trace_probes = 2
    s.density_probes = 1
    s.density_variants = ('rate_80', 'rule_measured')
    s.num_alphas = 3
    s.bisection_steps = 3
  config.lock()
  return config
