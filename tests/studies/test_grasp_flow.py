"""GraSP's sign against its own objective (studies.init_pruning.gradient_flow).

GraSP keeps the weights whose removal would cut the gradient flow most, so
its mask must leave more gradient flow than its inversion at the same
count; a GraSP with the sign flipped fails this.
"""
import jax
import jax.numpy as jnp

from lth_jax.pruning import scores
from lth_jax.pruning import scoring
from lth_jax.pruning import selection
from lth_jax.studies.init_pruning import gradient_flow


def mlp(params, x):
  return jnp.tanh(x @ params['l1']) @ params['l2']


def setup():
  k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
  params = {'l1': jax.random.normal(k1, (20, 32)) / 20 ** .5,
            'l2': jax.random.normal(k2, (32, 5)) / 32 ** .5}
  batch = (jax.random.normal(k3, (50, 20)),
           jax.random.randint(k4, (50,), 0, 5))
  masks = jax.tree.map(lambda p: jnp.ones(p.shape, bool), params)
  return params, masks, scores.classification_loss(mlp), batch


def flow_after(params, masks, loss, batch, s, count):
  kept = selection.top_k_global(s, masks, count)
  return gradient_flow.gradient_flow(params, kept, loss, batch, 200.0)


def test_grasp_mask_keeps_more_gradient_flow_than_its_inversion():
  params, masks, loss, batch = setup()
  s = scoring.score('grasp', params, masks, loss_fn=loss, batch=batch)
  count = int(0.9 * (20 * 32 + 32 * 5))
  grasp = flow_after(params, masks, loss, batch, s, count)
  inverted = flow_after(params, masks, loss, batch, scores.invert(s), count)
  dense = gradient_flow.gradient_flow(params, masks, loss, batch, 200.0)
  # A GraSP with the wrong sign would keep the inverted mask and fail.
  assert grasp > dense > inverted
