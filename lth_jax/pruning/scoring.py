"""One scorer interface and one registry for every mask criterion.

A scorer ranks the prunable weights; the highest scores are kept. Every
scorer has one signature::

  score(params, masks, *, key=None, loss_fn=None, batch=None, init=None,
        **extras) -> scores

``params`` are the weights being judged (trained weights for IMP and
Zhou et al.'s criteria, initial weights for pruning at initialisation);
``masks`` the current masks (``None`` leaves are not prunable); ``scores``
a pytree shaped like ``params`` with one float array per prunable leaf and
``None`` elsewhere. Keyword inputs a scorer needs are declared when it is
registered (``needs``) and checked by ``score``: ``key`` (a PRNG key),
``loss_fn`` and ``batch`` (data-dependent scorers), ``init`` (criteria that
compare with the initial weights), or anything else in ``extras``.

``lth_jax.pruning.selection`` turns scores into masks (``top_k_per_leaf``,
``top_k_global``: exact counts, ties by index, never reviving a pruned
weight), as do ``prune_layerwise`` / ``prune_global`` with ``scores=``.
Like jaxpruner's scorers, a scorer is a pure function; unlike them, it
never selects.

Registered here and in ``scores`` (magnitude, random, SNIP, GraSP,
SynFlow), ``criteria`` (Zhou et al. 2019) and any module that calls
``register_scorer``::

  @scoring.register_scorer('my_score', needs=('batch',))
  def my_score(params, masks, *, batch=None, **unused): ...
"""
from typing import Any, Callable

import jax

from lth_jax import errors
from lth_jax import registry
from lth_jax.pruning import masks as masks_lib

PyTree = Any
#: ``score(params, masks, *, key=None, loss_fn=None, batch=None, init=None,
#: **extras) -> scores``.
Scorer = Callable[..., PyTree]

SCORERS: registry.Registry[Scorer] = registry.Registry('pruning scorer')
#: The keyword inputs each registered scorer needs (not ``None``).
NEEDS: dict[str, tuple[str, ...]] = {}


#: What each common keyword input is, for error messages.
_INPUTS = {'key': 'a PRNG key', 'loss_fn': 'a loss function',
           'batch': 'a batch of data', 'init': 'the initial weights',
           'input_norms': "the norms of each layer's input features"}


def register_scorer(name: str, needs: tuple[str, ...] = ()
                    ) -> Callable[[Scorer], Scorer]:
  """Decorator: registers a scorer that needs the keyword inputs ``needs``."""
  def wrap(scorer: Scorer) -> Scorer:
    SCORERS.register(name)(scorer)
    NEEDS[name] = tuple(needs)
    return scorer
  return wrap


def get_scorer(name: str) -> Scorer:
  """The scorer registered as ``name`` (errors list the known names)."""
  return SCORERS.get(name)


def all_scorer_names() -> list[str]:
  """The registered scorer names, sorted."""
  return SCORERS.names()


def missing_inputs(name: str, **inputs: Any) -> list[str]:
  """The inputs scorer ``name`` needs that are ``None`` or absent."""
  SCORERS.check(name)
  return [n for n in NEEDS[name] if inputs.get(n) is None]


def require(name: str, **inputs: Any) -> None:
  """Raises naming the fix if scorer ``name`` lacks an input it needs."""
  missing = missing_inputs(name, **inputs)
  if missing:
    what = ', '.join(f'{_INPUTS.get(n, n)} ({n}=...)' for n in missing)
    raise errors.InputError(f'the {name!r} scorer needs {what}; see '
                            'lth_jax.pruning.scoring.')


def score(name: str, params: PyTree, masks: PyTree, **inputs: Any) -> PyTree:
  """Scores of the registered scorer ``name``, its inputs checked first.

  >>> import jax.numpy as jnp
  >>> score('magnitude', {'w': jnp.array([-2., 1.])},
  ...       {'w': jnp.ones(2, bool)})['w']
  Array([2., 1.], dtype=float32)
  """
  require(name, **inputs)
  masks_lib.check_mask_tree(params, masks)
  return get_scorer(name)(params, masks, **inputs)


def on_prunable(fn: Callable[..., Any], masks: PyTree, *trees: PyTree
                ) -> PyTree:
  """``fn(mask, *leaves)`` on prunable leaves, ``None`` elsewhere."""
  return jax.tree.map(lambda m, *xs: None if m is None else fn(m, *xs),
                      masks, *trees, is_leaf=masks_lib.is_none)
