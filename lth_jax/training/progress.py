"""A one-line progress display: run label, step and validation accuracy."""
import sys
import time
from typing import Sequence


class Progress:
  """Rewrites one line on stderr (a plain log line when not a terminal)."""

  def __init__(self, enabled: bool = True, stream=None):
    self.enabled = enabled
    self.stream = stream or sys.stderr
    self._tty = getattr(self.stream, 'isatty', lambda: False)()
    self._last = 0.0

  def update(self, label: str, step: int, total: int,
             val_acc: Sequence[float]) -> None:
    if not self.enabled:
      return
    now = time.time()
    if not self._tty and now - self._last < 10 and step < total:
      return
    self._last = now
    width = 24
    filled = int(width * step / max(total, 1))
    acc = ' '.join(f'{100 * a:.2f}' for a in val_acc[:8])
    line = (f'{label} [{"#" * filled}'
            f'{"." * (width - filled)}] step {step}/{total} val_acc% {acc}')
    if self._tty:
      self.stream.write('\r' + line[:150].ljust(150))
    else:
      self.stream.write(line + '\n')
    self.stream.flush()

  def done(self, label: str, seconds: float) -> None:
    if self.enabled:
      self.stream.write(f'{"" if not self._tty else chr(10)}{label} '
                        f'trained in {seconds:.1f}s\n')
      self.stream.flush()
