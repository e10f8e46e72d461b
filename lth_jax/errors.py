"""The project's own exceptions: bad input a user can fix.

Each message names the problem and the fix. Launchers print an
``LthError`` as one line (``experiments/cli.py``); any other exception is a
bug in the code and shows its traceback. Each type also derives from the
built-in exception that code outside the project would expect (an
``InputError`` is a ``ValueError``), so ``except ValueError`` keeps working.

>>> issubclass(ConfigError, ValueError), issubclass(ConfigError, LthError)
(True, True)
"""


class LthError(Exception):
  """Base: bad input or run state that the user can fix."""


class InputError(LthError, ValueError):
  """A bad value: an argument, a rate outside [0, 1), a tree that does not
  match the params."""


class InputTypeError(InputError, TypeError):
  """An input of the wrong type (float pixels where token ids belong)."""


class ConfigError(InputError):
  """A config field with a bad value, or fields that contradict."""


class MissingInputError(LthError, FileNotFoundError):
  """A file or run level that the command needs does not exist yet."""


class DataError(LthError, RuntimeError):
  """A data file that is missing, corrupt or not in its standard format."""


class CorruptFileError(LthError, ValueError):
  """A results file (tree, ticket, JSON) that cannot be read back."""


class UnreadableFileError(LthError, OSError):
  """A file that is truncated or not in the format it claims."""


class RunStateError(LthError, RuntimeError):
  """A run that cannot go on as asked: locked, or already finished."""


class FinishedError(RunStateError, FileExistsError):
  """A finished result would be overwritten (never done)."""


class NumericError(LthError, FloatingPointError):
  """A non-finite loss or score."""


class DependencyError(LthError, ImportError):
  """An optional package that this path needs is not installed."""
