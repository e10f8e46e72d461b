"""Pure Flax models, registered by name."""
from lth_jax.models import conv  # pylint: disable=unused-import  (registers)
from lth_jax.models import mlp  # pylint: disable=unused-import  (registers)
from lth_jax.models import resnet  # pylint: disable=unused-import  (registers)
from lth_jax.models import text  # pylint: disable=unused-import  (registers)
from lth_jax.models.registry import all_model_names
from lth_jax.models.registry import get_model
from lth_jax.models.registry import register_model
