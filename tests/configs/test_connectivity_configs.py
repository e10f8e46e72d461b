"""The instability sweep configs build, validate and match their trunks."""
import pytest

from configs import connectivity_control
from configs import connectivity_lenet300_mnist
from configs import connectivity_resnet20_cifar10
from configs import connectivity_vgg16_cifar10
from configs import lenet300_mnist
from configs import resnet20_cifar10
from configs import vgg16_cifar10
from lth_jax import lottery
from lth_jax.studies.connectivity import schema as connectivity_schema

CASES = [
    (connectivity_lenet300_mnist, 'preset=cpu', lenet300_mnist,
     'preset=lth,replicates=3'),
    (connectivity_lenet300_mnist, 'preset=paper', lenet300_mnist,
     'preset=lth,replicates=3'),
    (connectivity_lenet300_mnist, 'preset=test', lenet300_mnist,
     'preset=test'),
    (connectivity_resnet20_cifar10, 'preset=paper', resnet20_cifar10,
     'preset=paper,replicates=3'),
    (connectivity_resnet20_cifar10, 'preset=test', resnet20_cifar10,
     'preset=test'),
    (connectivity_vgg16_cifar10, 'preset=paper', vgg16_cifar10,
     'preset=paper,replicates=3'),
    (connectivity_vgg16_cifar10, 'preset=test', vgg16_cifar10,
     'preset=test'),
    (connectivity_control, '', connectivity_control, 'part=trunk'),
    (connectivity_control, 'model=lenet,data=mnist,lr=0.5,k=0+50',
     connectivity_control, 'part=trunk,model=lenet,data=mnist,lr=0.5'),
]


@pytest.mark.parametrize('module, arg, trunk_module, trunk_arg', CASES)
def test_sweep_config_reads_its_trunk(module, arg, trunk_module, trunk_arg):
  config = module.get_config(arg)
  lottery.validate(config.trunk)
  # The sweep's executor choice never renames the trunk's run.
  assert lottery.run_hash(config.trunk) == lottery.run_hash(
      trunk_module.get_config(trunk_arg))
  spec = connectivity_schema.spec_from_config(config.connectivity)
  connectivity_schema.check_spec_shape(spec)
  assert spec.num_alphas == 30 and spec.threshold == 0.02
  assert spec.batch_norm == 'recompute'


def test_vgg16_trunk_is_the_registered_vgg16():
  config = vgg16_cifar10.get_config('preset=paper')
  assert config.model == 'vgg16' and config.pruning.rewind_step == '1000it'


def test_unknown_options_name_the_known_ones():
  with pytest.raises(ValueError, match="known: 'paper', 'test'"):
    connectivity_vgg16_cifar10.get_config('preset=cpu')
  with pytest.raises(ValueError, match='known: preset'):
    connectivity_lenet300_mnist.get_config('preset=cpu,pairs=3')


def test_control_options():
  config = connectivity_control.get_config('lr=0.2,k=0+250,inits=3')
  t = config.trunk
  assert (t.model, t.model_kwargs.depth, t.data.name) == (
      'resnet_cifar', 8, 'fashion_mnist')
  assert (t.training.optimizer, t.training.learning_rate,
          t.training.warmup, t.pruning.levels) == ('sgd', 0.2, '0it', 0)
  c = config.connectivity
  assert (c.rewind_steps, c.levels, c.replicates) == ((0, 250), (0,),
                                                      (0, 1, 2))
  with pytest.raises(ValueError, match='known: part'):
    connectivity_control.get_config('warmup=100')
  with pytest.raises(ValueError, match='unknown model'):
    connectivity_control.get_config('model=vgg')
