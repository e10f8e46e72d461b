"""Live scalars as TensorBoard event files (tensorboardX, no TensorFlow).

One writer per replicate directory; ``on_eval(step, rows)`` is the engine's
evaluation hook and writes every numeric field of each new row (losses,
accuracies, any extra metric) under its own tag.
"""
import pathlib
from typing import Any, Sequence

import tensorboardX


class EventWriters:
  """TensorBoard writers, one per directory (created on first use)."""

  def __init__(self, directories: Sequence[pathlib.Path]):
    self._dirs = [pathlib.Path(d) for d in directories]
    self._writers: dict[int, tensorboardX.SummaryWriter] = {}

  def _writer(self, i: int) -> tensorboardX.SummaryWriter:
    if i not in self._writers:
      self._dirs[i].mkdir(parents=True, exist_ok=True)
      self._writers[i] = tensorboardX.SummaryWriter(str(self._dirs[i]))
    return self._writers[i]

  def scalar(self, i: int, tag: str, value: float, step: int) -> None:
    """Writes one scalar of replicate ``i``."""
    self._writer(i).add_scalar(tag, value, step)

  def on_eval(self, step: int, rows: Sequence[dict[str, Any] | None]
              ) -> None:
    """Writes each replicate's new evaluation row (None: stopped)."""
    for i, row in enumerate(rows):
      if row is None:
        continue
      for key, value in row.items():
        if key != 'step' and isinstance(value, (int, float)) and not (
            isinstance(value, bool)):
          self.scalar(i, key, float(value), step)
      self._writer(i).flush()

  def close(self) -> None:
    for writer in self._writers.values():
      writer.close()
    self._writers.clear()
