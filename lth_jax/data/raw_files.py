"""Offline raw files: where they live, and checking them before use."""
import hashlib
import os
import pathlib

from lth_jax import errors

DATA_DIR_ENV = 'LTH_DATA_DIR'


class DataFileError(errors.DataError):
  """A raw data file is missing or fails its checksum."""


def data_root(root: str | None) -> pathlib.Path | None:
  """The raw-data root: ``root`` if given, else ``$LTH_DATA_DIR``, else None."""
  root = root or os.environ.get(DATA_DIR_ENV)
  return pathlib.Path(root).expanduser() if root else None


def sha256(path: pathlib.Path) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(1 << 20), b''):
      digest.update(chunk)
  return digest.hexdigest()


def how_to_provide(dataset: str, folder: str) -> str:
  return (f'Either put the standard raw files of {dataset!r} in '
          f'<root>/{folder}/ and pass config.data.root=<root> or set '
          f'{DATA_DIR_ENV}=<root> (here: ../shared/data), or use '
          "config.data.source='tfds' on a machine that can download "
          '(pip install lth_jax[tfds]).')


def checked_file(root: pathlib.Path, dataset: str, folder: str, name: str,
                 expected_sha256: str) -> pathlib.Path:
  """Returns ``root/folder/name`` after checking it exists and its checksum."""
  path = root / folder / name
  if not path.is_file():
    raise DataFileError(f'missing data file {path}. '
                        + how_to_provide(dataset, folder))
  actual = sha256(path)
  if actual != expected_sha256:
    raise DataFileError(
        f'data file {path} is corrupt or truncated: sha256 {actual[:16]}... '
        f'!= expected {expected_sha256[:16]}... Replace it with the canonical '
        'file. ' + how_to_provide(dataset, folder))
  return path
