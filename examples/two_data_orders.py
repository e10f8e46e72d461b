r"""Two copies of one masked LeNet, two data orders, one vmapped program.

The building block of instability analysis (Frankle et al. 2020): both
copies start from the same weights under the same 50 % mask and differ only
in their data key. On real MNIST (raw files under ``LTH_DATA_DIR``, else
tensorflow-datasets):

  LTH_DATA_DIR=../shared/data python examples/two_data_orders.py
"""
import jax
import numpy as np
import optax

from lth_jax import data, lottery, models, pruning, training

dataset = data.get_dataset(lottery.default_config().data)  # MNIST
model = models.get_model('lenet300_100', num_classes=10)
params = model.init(jax.random.key(0), dataset.train_images[:1])['params']
masks = pruning.prune_global(params, pruning.ones_like(params), 0.5, level=1)
start = training.create_train_state(model, params, masks, optax.adam(1.2e-3),
                                    data_key=jax.random.key(1))
copies = [start, start.replace(data_key=jax.random.key(2))]
spec = training.LoopSpec(total_steps=1000, batch_size=60, eval_every=250,
                         steps_per_epoch=len(dataset.train_images) // 60)
runs = training.train(copies, training.to_device(dataset), spec,
                      training.Executor('vmap'))
for i, run in enumerate(runs):
  print(f"copy {i}: val acc {run.rows[-1]['val_acc']:.4f}, "
        f"test acc {run.rows[-1]['test_acc']:.4f}")
a, b = (jax.tree.leaves(r.state.params) for r in runs)
print('max |w1 - w2|:', max(float(np.abs(x - y).max()) for x, y in zip(a, b)))
print('weights remaining:', pruning.sparsity_report(runs[0].state.masks)[
    'fraction'])
