"""Running an absl ``main`` with one-line errors for bad input.

A config typo, a bad value, a missing data file or a locked run directory
is the user's to fix, not a bug: the project raises an
``lth_jax.errors.LthError`` for each, and this prints its message (which
names the fix) and exits with status 2 instead of a traceback (set
``LTH_DEBUG=1`` for the traceback). Any other exception is a bug in the
code and shows its traceback.
"""
import os
import sys
from typing import Callable

from absl import app

from lth_jax import errors


def run(main: Callable[[list[str]], None]) -> None:
  """``app.run(main)``, turning the project's errors into one line."""
  try:
    app.run(main)
  except errors.LthError as e:
    if os.environ.get('LTH_DEBUG'):
      raise
    message = ' '.join(str(e).strip().strip('\'"').split())
    sys.stderr.write(f'error: {type(e).__name__}: {message}\n')
    sys.exit(2)


def print_report(config, workdir: str) -> None:
  """Writes the run's report beside it and prints its table and paths."""
  from lth_jax import analysis  # pylint: disable=import-outside-toplevel
  from lth_jax import lottery  # pylint: disable=import-outside-toplevel
  run_dir = lottery.config.run_dir(config, workdir)
  report = analysis.write_report([run_dir], run_dir, title=config.model)
  print(analysis.to_markdown(report['rows']))
  print(f"\ntable: {report['csv']}\nplot:  {report['accuracy_png']}")
