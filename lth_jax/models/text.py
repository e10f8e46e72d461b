"""The text-CNN ensemble of the seed thesis (20 Newsgroups, Reuters).

Input: int32 token ids ``[N, L]`` (``L = 200``; id 0 pads, id 1 is
unknown, see ``lth_jax.data.text``). Module ``i`` of 16: embedding ->
1-D convolution with 3 filters of width ``1 + 3 * (i mod 8)`` (valid
padding, no activation, as in the thesis) -> average pooling of 2 (modules
0-7) or 7 (8-15) -> dropout 0.5 -> global average pooling over time. The
16 outputs are concatenated (48) -> dropout 0.5 -> the dense ``output``
layer (logits; softmax or sigmoid cross-entropy is the task's choice).

Parameter paths, for the pruning regexes: ``embedding/embedding`` (shared;
``embedding_<i>/embedding`` per module with ``shared_embedding=False``),
``conv_<i>/kernel`` + ``bias``, ``output/kernel`` + ``bias``. Dropout draws
from the ``'dropout'`` rng, which ``training.steps.train_step`` derives from
the replicate's data key and the step.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.models import registry

#: Keras defaults, as the thesis's model: Glorot-uniform kernels, zero
#: biases, embeddings uniform in [-0.05, 0.05].
glorot_uniform = nn.initializers.glorot_uniform()
EMBEDDING_SCALE = 0.05


def symmetric_uniform(scale: float) -> nn.initializers.Initializer:
  """Uniform in ``[-scale, scale)`` (Keras's ``RandomUniform``)."""
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -scale, scale)
  return init


def conv_width(i: int) -> int:
  """Filter width of module ``i``: ``1 + 3 * (i mod 8)``.

  >>> [conv_width(i) for i in (0, 1, 7, 8, 15)]
  [1, 4, 22, 1, 22]
  """
  return 1 + 3 * (i % 8)


def pool_size(i: int, num_modules: int = 16) -> int:
  """Average-pool size of module ``i``: 2 in the first half, 7 after."""
  return 2 if i < num_modules // 2 else 7


class TextCNNEnsemble(nn.Module):
  """16 one-layer convolutional modules over a (shared) word embedding.

  Attributes:
    vocab_size: embedding rows (ids in all, reserved ones included).
    num_classes: output units.
    embed_dim: embedding width (300 in the thesis).
    num_modules: modules (16); widths and pools follow ``conv_width`` and
      ``pool_size``.
    filters: filters per convolution (3).
    shared_embedding: one embedding for all modules (default); False gives
      each module its own (16 x vocab x dim weights).
    dropout_rate: dropout after each module's pooling and after the
      concatenation (0.5).
  """
  vocab_size: int = 60000
  num_classes: int = 20
  embed_dim: int = 300
  num_modules: int = 16
  filters: int = 3
  shared_embedding: bool = True
  dropout_rate: float = 0.5

  def _embed(self, name: str) -> nn.Embed:
    return nn.Embed(self.vocab_size, self.embed_dim,
                    embedding_init=symmetric_uniform(EMBEDDING_SCALE),
                    name=name)

  @nn.compact
  def __call__(self, ids: jax.Array, train: bool = False) -> jax.Array:
    if not jnp.issubdtype(ids.dtype, jnp.integer):
      raise errors.InputTypeError(
          f'TextCNNEnsemble takes integer token ids, got '
          f'{ids.dtype}: encode text with lth_jax.data.text.')
    need = max(conv_width(i) + pool_size(i, self.num_modules) - 1
               for i in range(self.num_modules))
    if ids.shape[-1] < need:
      raise errors.InputError(
          f'sequences of length {ids.shape[-1]} are too short '
          f'for the widest filter and its pooling (need >= '
          f'{need} ids).')
    shared = self._embed('embedding')(ids) if self.shared_embedding else None
    pooled = []
    for i in range(self.num_modules):
      x = shared if shared is not None else self._embed(f'embedding_{i}')(ids)
      x = nn.Conv(self.filters, (conv_width(i),), padding='VALID',
                  kernel_init=glorot_uniform, name=f'conv_{i}')(x)
      size = pool_size(i, self.num_modules)
      x = nn.avg_pool(x, (size,), strides=(size,))
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
      pooled.append(jnp.mean(x, axis=1))
    x = jnp.concatenate(pooled, axis=-1)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_classes, kernel_init=glorot_uniform,
                    name='output')(x)


@registry.register_model('text_cnn_ensemble')
def text_cnn_ensemble(num_classes: int = 20, vocab_size: int = 60000,
                      embed_dim: int = 300, shared_embedding: bool = True,
                      num_modules: int = 16, dropout_rate: float = 0.5
                      ) -> TextCNNEnsemble:
  """The seed thesis's ensemble (vocab 60k, dim 300: ~18 M weights).

  >>> m = text_cnn_ensemble(num_classes=20, vocab_size=100, embed_dim=8)
  >>> m.num_modules, m.filters
  (16, 3)
  """
  return TextCNNEnsemble(vocab_size=vocab_size, num_classes=num_classes,
                         embed_dim=embed_dim, num_modules=num_modules,
                         shared_embedding=shared_embedding,
                         dropout_rate=dropout_rate)
