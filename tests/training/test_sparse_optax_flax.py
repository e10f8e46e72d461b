"""A user's own Flax CNN and optax loop trained sparse by the wrapper."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from lth_jax.pruning import sparse_optax


class TinyCNN(nn.Module):
  """Not a model of this repo: one conv, one dense layer."""

  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Conv(8, (3, 3))(x))
    return nn.Dense(2)(x.reshape(x.shape[0], -1))


def test_rigl_trains_a_flax_cnn_at_exact_density():
  rng = np.random.default_rng(0)
  y = rng.integers(0, 2, 64).astype(np.int32)
  x = (rng.normal(size=(64, 6, 6, 1)) + 1.5 * y[:, None, None, None]
       ).astype(np.float32)
  model = TinyCNN()
  params = model.init(jax.random.key(0), x[:1])['params']
  total = 40
  # The three lines that make the loop sparse:
  tx = sparse_optax.wrap_optax(optax.adam(3e-2), 'rigl', density=0.2,
                               total_steps=total, update_every=10,
                               select='bitwise')
  opt_state = tx.init(params)
  params = sparse_optax.masked_params(params, opt_state)

  @jax.jit
  def step(params, opt_state):
    def loss_fn(p):
      return optax.softmax_cross_entropy_with_integer_labels(
          model.apply({'params': p}, x), y).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  masks0 = sparse_optax.current_masks(opt_state)
  kernels = [('Conv_0', 72), ('Dense_0', 576)]
  losses = []
  for _ in range(total):
    params, opt_state, loss = step(params, opt_state)
    losses.append(float(loss))
    masks = sparse_optax.current_masks(opt_state)
    kept = sum(int(masks[name]['kernel'].sum()) for name, _ in kernels)
    nonzero = sum(int((params[name]['kernel'] != 0).sum())
                  for name, _ in kernels)
    assert kept == round(0.2 * (72 + 576))
    assert nonzero <= kept
  assert masks['Conv_0']['bias'] is None
  assert not all(np.array_equal(masks[n]['kernel'], masks0[n]['kernel'])
                 for n, _ in kernels)  # RigL moved connections
  assert np.mean(losses[-10:]) < 0.5 * losses[0]
