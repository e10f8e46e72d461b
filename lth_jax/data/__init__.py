"""Data sets: raw files offline, tensorflow-datasets online; on-device batching."""
from lth_jax.data import cifar10  # pylint: disable=unused-import  (registers)
from lth_jax.data import mnist  # pylint: disable=unused-import  (registers)
from lth_jax.data import newsgroups  # pylint: disable=unused-import  (registers)
from lth_jax.data import reuters  # pylint: disable=unused-import  (registers)
from lth_jax.data import two_task  # pylint: disable=unused-import  (registers)
from lth_jax.data.augment import all_augmentation_names
from lth_jax.data.augment import get_augmentation
from lth_jax.data.dataset import Dataset
from lth_jax.data.raw_files import DataFileError
from lth_jax.data.registry import all_dataset_names
from lth_jax.data.registry import get_dataset
from lth_jax.data.registry import register_dataset
