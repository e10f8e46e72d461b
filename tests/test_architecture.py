"""The layers of the code hold (import-linter contracts in .importlinter)."""
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
  lint = shutil.which('lint-imports') or str(
      pathlib.Path(sys.executable).parent / 'lint-imports')
  result = subprocess.run([lint, '--config', str(REPO / '.importlinter')],
                          cwd=REPO, capture_output=True, text=True,
                          check=False)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr
  assert 'Contracts: 2 kept, 0 broken.' in result.stdout


def test_a_broken_layer_is_caught(tmp_path):
  """The contract fails for an upward import (a negative control)."""
  config = (REPO / '.importlinter').read_text()
  lines = config.split('\n')
  # Move lottery below the layer under it: lottery imports training, so the
  # contract must break.
  i = lines.index('    lth_jax.lottery')
  lines[i], lines[i + 1] = lines[i + 1], lines[i]
  broken = '\n'.join(lines)
  assert 'lth_jax.training' in lines[i] and broken != config
  path = tmp_path / 'importlinter.ini'
  path.write_text(broken)
  lint = shutil.which('lint-imports') or str(
      pathlib.Path(sys.executable).parent / 'lint-imports')
  result = subprocess.run([lint, '--config', str(path)], cwd=REPO,
                          capture_output=True, text=True, check=False)
  assert result.returncode != 0
  assert 'BROKEN' in result.stdout


def test_no_module_is_long():
  """Small modules, one concept each (~400 lines; 450 at most)."""
  long = {str(p.relative_to(REPO)): n for p in (REPO / 'lth_jax').rglob('*.py')
          if (n := len(p.read_text().splitlines())) > 450}
  assert not long, long
