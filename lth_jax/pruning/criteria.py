"""Mask criteria of Zhou et al. 2019 and the weights a supermask keeps.

A criterion scores every prunable weight from its initial value ``w_i`` and
its trained value ``w_f``; the highest scores are kept. Each is a scorer of
the one registry (``lth_jax.pruning.scoring``) with its signature:
``params`` are the trained weights ``w_f`` and ``init=`` the initial ones
(``scoring.score('movement', final, masks, init=init)``):

* ``large_final``: ``|w_f|`` (the lottery ticket's criterion);
* ``small_final``: ``-|w_f|``;
* ``large_init``: ``|w_i|``; ``small_init``: ``-|w_i|``;
* ``large_init_large_final``: ``min(|w_i|, |w_f|)``: one threshold on both
  magnitudes, the square region of Zhou et al.'s Figure 2;
* ``magnitude_increase``: ``|w_f| - |w_i|``;
* ``movement``: ``|w_f - w_i|``;
* ``large_final_same_sign``: ``|w_f|`` where ``sign(w_f) == sign(w_i)``,
  below every such weight elsewhere (Zhou et al.'s supermask criterion);
* ``random``: the registry's ``random`` scorer (uniform noise from ``key``).

``criterion_masks`` keeps, in each prunable leaf, the given number of
highest-scoring weights through the exact selection
(``selection.top_k_per_leaf``, ties by index). ``supermask_params`` then
builds the network the mask is
applied to: kept weights rewound to init, re-initialised, re-shuffled within
their layer, or a signed constant ``±σ`` (``σ`` the standard deviation of
the layer's init, sign of the init); pruned weights zero or frozen at init.
"""
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import scoring
from lth_jax.pruning import selection
from lth_jax.pruning import tree_paths

PyTree = Any

#: Zhou et al.'s criteria (and the random control), in the supermask study.
CRITERIA = ('large_final', 'small_final', 'large_init', 'small_init',
            'large_init_large_final', 'magnitude_increase', 'movement',
            'large_final_same_sign', 'random')

KEPT_TREATMENTS = ('init', 'reinit', 'reshuffle', 'signed_constant')
PRUNED_TREATMENTS = ('zero', 'frozen')


def _leafwise(fn: Callable[[jax.Array, jax.Array], jax.Array]
              ) -> scoring.Scorer:
  """A scorer applying ``fn(w_i, w_f)`` to every prunable leaf."""
  def score(params: PyTree, masks: PyTree, *, init: PyTree = None,
            **unused: Any) -> PyTree:
    init = params if init is None else init
    return scoring.on_prunable(
        lambda m, wi, wf: fn(jnp.asarray(wi, jnp.float32),
                             jnp.asarray(wf, jnp.float32)),
        masks, init, params)
  score.__doc__ = fn.__doc__
  return score


def _same_sign(wi, wf):
  """``|w_f|`` where the sign is kept; ``-1`` (below all) elsewhere."""
  return jnp.where(jnp.sign(wi) * jnp.sign(wf) > 0, jnp.abs(wf), -1.0)


#: name: (score of (w_i, w_f), the weights it reads).
_LEAFWISE = {
    'large_final': (lambda wi, wf: jnp.abs(wf), ('final',)),
    'small_final': (lambda wi, wf: -jnp.abs(wf), ('final',)),
    'large_init': (lambda wi, wf: jnp.abs(wi), ('init',)),
    'small_init': (lambda wi, wf: -jnp.abs(wi), ('init',)),
    'large_init_large_final': (
        lambda wi, wf: jnp.minimum(jnp.abs(wi), jnp.abs(wf)),
        ('init', 'final')),
    'magnitude_increase': (lambda wi, wf: jnp.abs(wf) - jnp.abs(wi),
                           ('init', 'final')),
    'movement': (lambda wi, wf: jnp.abs(wf - wi), ('init', 'final')),
    'large_final_same_sign': (_same_sign, ('init', 'final')),
}
#: Which weights each criterion reads: 'init', 'final', both, or neither.
READS: dict[str, tuple[str, ...]] = {'random': ()}
for _name, (_fn, _reads) in _LEAFWISE.items():
  scoring.register_scorer(_name, needs=('init',) if 'init' in _reads
                          else ())(_leafwise(_fn))
  READS[_name] = _reads


def all_criterion_names() -> list[str]:
  """Zhou et al.'s criteria and the random control, sorted."""
  return sorted(CRITERIA)


def check_remaining(remaining: float) -> float:
  """Returns ``remaining`` as a float, or raises if outside (0, 1].

  >>> check_remaining(0.5)
  0.5
  """
  remaining = float(remaining)
  if not 0.0 < remaining <= 1.0:
    raise errors.InputError(
        f'remaining={remaining} is outside (0, 1]: it is the fraction of '
        'each layer\'s weights kept, e.g. 0.5.')
  return remaining


def check_needs(name: str, init: PyTree | None, final: PyTree | None,
                where: str = 'the trunk',
                fix: str = 'finish training it first') -> None:
  """Raises if criterion ``name`` needs weights that are ``None``.

  The message names ``where`` the weights should be, the ``fix``, and the
  criteria that do without them.
  """
  if name not in CRITERIA:
    raise errors.ConfigError(f'unknown mask criterion {name!r}; known: '
                             f'{", ".join(all_criterion_names())}.')
  for what, tree in (('init', init), ('final', final)):
    if what in READS[name] and tree is None:
      others = [n for n in all_criterion_names() if what not in READS[n]]
      raise errors.InputError(
          f'criterion {name!r} needs the {what} weights, which {where} '
          f'lacks: {fix}, or use only criteria that do not need them '
          f'({", ".join(others)}).')


def layer_counts(masks: PyTree, remaining: float | Mapping[str, float]
                 ) -> PyTree:
  """How many weights each prunable leaf keeps: ``round(remaining * n)``.

  ``remaining`` is one fraction or ``{path: fraction}`` per prunable path.

  >>> layer_counts({'w': jnp.ones((4, 5), bool), 'b': None}, 0.3)
  {'b': None, 'w': 6}
  """
  def count(path, m):
    if m is None:
      return None
    frac = remaining[path] if isinstance(remaining, Mapping) else remaining
    return round(check_remaining(frac) * m.size)
  return tree_paths.map_with_path(count, masks, is_leaf=masks_lib.is_none)


def masks_counts(masks: PyTree) -> PyTree:
  """The number of True entries of every prunable leaf (ints)."""
  return jax.tree.map(lambda m: None if m is None else int(jnp.sum(m)),
                      masks, is_leaf=masks_lib.is_none)


def criterion_masks(name: str, init: PyTree, final: PyTree | None,
                    masks: PyTree, counts: PyTree,
                    key: jax.Array | None = None) -> PyTree:
  """The masks criterion ``name`` keeps, ``counts[leaf]`` weights per leaf.

  Args:
    name: one of ``all_criterion_names()``.
    init: the initial weights.
    final: the trained weights (``None`` if the criterion needs none).
    masks: where weights may be kept (dense masks for one-shot criteria).
    counts: per prunable leaf, how many weights to keep (``layer_counts``
      or ``masks_counts`` of a ticket, for matched sparsity).
    key: for ``random``.

  Returns:
    Bool masks, a subset of ``masks`` with exactly ``counts`` per leaf.

  >>> wi = {'w': jnp.array([.1, -.9, .5, .2])}
  >>> wf = {'w': jnp.array([.8, -.1, .6, -.3])}
  >>> m = {'w': jnp.ones(4, bool)}
  >>> criterion_masks('movement', wi, wf, m, {'w': 2})['w']
  Array([ True,  True, False, False], dtype=bool)
  """
  check_needs(name, init, final)
  masks_lib.check_mask_tree(init, masks)
  scores = scoring.score(name, init if final is None else final, masks,
                         init=init, key=key)
  return selection.top_k_per_leaf(scores, masks, counts)


def reshuffle(key: jax.Array, values: jax.Array, mask: jax.Array
              ) -> jax.Array:
  """``values`` with its kept (``mask``) entries permuted among themselves.

  >>> v, m = jnp.array([1., 2., 3., 4.]), jnp.array([True, False, True, True])
  >>> r = reshuffle(jax.random.key(0), v, m)
  >>> float(r[1]), sorted(r[jnp.array([0, 2, 3])].tolist())
  (2.0, [1.0, 3.0, 4.0])
  """
  flat_v, flat_m = values.reshape(-1), mask.reshape(-1)
  # Kept positions in index order, and the same positions in random order.
  order = jnp.argsort(~flat_m, stable=True)
  noise = jnp.where(flat_m, jax.random.uniform(key, flat_m.shape), 2.0)
  shuffled = jnp.argsort(noise, stable=True)
  out = flat_v.at[order].set(flat_v[shuffled])
  return jnp.where(flat_m, out, flat_v).reshape(values.shape)


def signed_constant(init: jax.Array) -> jax.Array:
  """``sign(w_i) * σ`` with ``σ`` the standard deviation of the layer's init.

  >>> signed_constant(jnp.array([1., -1., 1., -1.]))
  Array([ 1., -1.,  1., -1.], dtype=float32)
  """
  return jnp.sign(init) * jnp.std(init)


def supermask_params(init: PyTree, masks: PyTree, kept: str = 'init',
                     pruned: str = 'zero', key: jax.Array | None = None,
                     fresh: PyTree | None = None) -> PyTree:
  """The weights a mask is applied to, for an untrained supermask.

  Args:
    init: the initial weights.
    masks: the supermask (``None`` leaves are kept at ``init``).
    kept: treatment of kept weights, one of ``KEPT_TREATMENTS``: ``init``
      (rewind), ``reinit`` (take ``fresh``), ``reshuffle`` (permute the
      kept init values within each layer, with ``key``), or
      ``signed_constant`` (``±σ_layer`` with the init's sign).
    pruned: ``zero`` or ``frozen`` (pruned weights keep their init value).
    key: for ``reshuffle``.
    fresh: freshly initialised weights, for ``reinit``.

  Returns:
    A params pytree like ``init``.

  >>> wi = {'w': jnp.array([1., -1., 1., -1.])}
  >>> m = {'w': jnp.array([True, True, False, False])}
  >>> supermask_params(wi, m, 'signed_constant')['w']
  Array([ 1., -1.,  0.,  0.], dtype=float32)
  >>> supermask_params(wi, m, 'init', pruned='frozen')['w']
  Array([ 1., -1.,  1., -1.], dtype=float32)
  """
  if kept not in KEPT_TREATMENTS:
    raise errors.InputError(f'unknown kept-weight treatment {kept!r}; known: '
                     f'{", ".join(KEPT_TREATMENTS)}.')
  if pruned not in PRUNED_TREATMENTS:
    raise errors.InputError(
        f'unknown pruned-weight treatment {pruned!r}; known: '
        f'{", ".join(PRUNED_TREATMENTS)}.')
  if kept == 'reinit' and fresh is None:
    raise errors.InputError(
        "kept='reinit' needs fresh=, a new initialisation of "
        'the same model.')
  if kept == 'reshuffle' and key is None:
    raise errors.InputError("kept='reshuffle' needs a PRNG key: pass key=.")
  masks_lib.check_mask_tree(init, masks)
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  wi_leaves = treedef.flatten_up_to(init)
  fresh_leaves = (treedef.flatten_up_to(fresh) if fresh is not None
                  else wi_leaves)
  keys = jax.random.split(key if key is not None else jax.random.key(0),
                          len(leaves))
  out = []
  for m, wi, wn, k in zip(leaves, wi_leaves, fresh_leaves, keys):
    if m is None:
      out.append(wi)
      continue
    wi = jnp.asarray(wi)
    kept_values = {'init': lambda: wi,
                   'reinit': lambda: jnp.asarray(wn),
                   'reshuffle': lambda: reshuffle(k, wi, m),
                   'signed_constant': lambda: signed_constant(wi)}[kept]()
    rest = wi if pruned == 'frozen' else jnp.zeros_like(wi)
    out.append(jnp.where(m, kept_values, rest).astype(wi.dtype))
  return jax.tree.unflatten(treedef, out)
