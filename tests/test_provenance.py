"""Provenance: records written by launchers, tables checked against git."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from lth_jax import provenance

REPO = pathlib.Path(__file__).resolve().parent.parent


def git(root, *args):
  return subprocess.run(['git', '-C', str(root), *args], check=True,
                        capture_output=True, text=True).stdout.strip()


def commit_all(root, message):
  git(root, 'add', '-A')
  git(root, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm',
      message)
  return git(root, 'rev-parse', 'HEAD')


def table(name):
  return f'| {name} | acc |\n|---|---|\n| 1 | 98.0 |\n'


@pytest.fixture()
def repo(tmp_path):
  git(tmp_path, 'init', '-q')
  (tmp_path / 'lth_jax').mkdir()
  (tmp_path / 'lth_jax' / 'a.py').write_text('x = 1\n')
  (tmp_path / 'docs' / 'results').mkdir(parents=True)
  (tmp_path / 'README.md').write_text('# r\n')
  return tmp_path, commit_all(tmp_path, 'code')


def write_docs(root, sha):
  (root / 'README.md').write_text(
      f'# r\n<!-- provenance: commit={sha} cpu="AMD EPYC" -->\n\n'
      + table('marked') + '\n' + table('same marker') + '\n## next\n\n'
      + table('after a heading') + '\n```\n' + table('in a fence') + '```\n')
  (root / 'docs' / 'results' / 'x.md').write_text(
      '<!-- provenance: commit=deadbeef -->\n' + table('unknown')
      + f'\n<!-- provenance: commit={sha} dirty -->\n' + table('dirty')
      + '\n<!-- provenance: static -->\n' + table('configs'))


def states(root):
  return {t.header.split('|')[1].strip(): s
          for t, s in provenance.check_docs(root)}


def test_tables_are_current_until_the_code_changes(repo):
  root, sha = repo
  write_docs(root, sha)
  commit_all(root, 'docs only')   # a change to docs keeps tables current
  assert states(root) == {
      'marked': 'current', 'same marker': 'current',
      'after a heading': 'missing', 'unknown': 'unknown commit deadbeef',
      'dirty': 'dirty', 'configs': 'static'}
  found = provenance.find_tables(root / 'README.md')
  assert [t.line for t in found] == [4, 8, 14]
  (root / 'lth_jax' / 'a.py').write_text('x = 2\n')
  later = commit_all(root, 'code again')
  got = states(root)
  assert got['marked'].startswith('stale: 1 later commit(s)')
  assert got['marked'].endswith(later[:7])
  assert got['dirty'].startswith('stale')
  # Changes outside the code paths do not count.
  assert provenance.status(root, {'commit': sha},
                           code_paths=('configs',)) == 'current'


def test_cli_strict_exit_status(repo):
  root, sha = repo
  write_docs(root, sha)
  commit_all(root, 'docs')
  cmd = [sys.executable, '-m', 'experiments.provenance', f'--root={root}']
  env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS='cpu')
  out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       cwd=REPO, check=True).stdout
  assert 'README.md:4: current: | marked | acc |' in out
  assert ('6 tables: 2 current, 1 dirty, 1 missing, 1 static, 1 unknown'
          in out)
  strict = subprocess.run(cmd + ['--strict'], capture_output=True,
                          text=True, env=env, cwd=REPO)
  assert strict.returncode == 1


def test_git_state_flags_changes_to_the_code_only(repo):
  root, sha = repo
  assert provenance.git_state(root) == {'commit': sha, 'dirty': False}
  (root / 'results').mkdir()
  (root / 'results' / 'r.csv').write_text('untracked\n')
  (root / 'README.md').write_text('# edited docs\n')
  assert provenance.git_state(root)['dirty'] is False
  (root / 'lth_jax' / 'new.py').write_text('y = 1\n')
  assert provenance.git_state(root)['dirty'] is True
  (root / 'lth_jax' / 'new.py').unlink()
  (root / 'lth_jax' / 'a.py').write_text('x = 3\n')
  assert provenance.git_state(root)['dirty'] is True
  assert provenance.git_state(root.parent / 'nowhere') == {
      'commit': None, 'dirty': None}


def test_write_appends_one_record_per_command(tmp_path):
  out = tmp_path / 'run'
  a = provenance.write(out, {'lr': 1e-3}, argv=[
      str(REPO / 'experiments' / 'lottery.py'), '--config=c.py:preset=cpu'])
  b = provenance.write(out, {'lr': 2e-3}, argv=['x', '--branch=r'])
  records = json.loads((out / 'provenance.json').read_text())
  assert records == [a, b]
  assert a['command'] == ('python -m experiments.lottery '
                          '--config=c.py:preset=cpu')
  assert b['command'] == 'python -m x --branch=r'
  assert a['config_hash'] == provenance.config_hash({'lr': 1e-3})
  assert a['config_hash'] != b['config_hash']
  if (REPO / '.git').exists():
    assert a['commit'] == git(REPO, 'rev-parse', 'HEAD')
  assert provenance.marker(a).startswith(
      f"<!-- provenance: commit={a['commit']}")
  (out / 'provenance.json').write_text('{}')
  with pytest.raises(ValueError, match='not a list'):
    provenance.write(out)


def test_a_cited_table_turns_stale_only_when_its_own_sources_change(repo):
  root, sha = repo
  (root / 'lth_jax' / 'b.py').write_text('y = 1\n')
  sha = commit_all(root, 'two modules')
  run = root / 'run'
  run.mkdir()
  (run / 'provenance.json').write_text(json.dumps([{
      'commit': sha, 'dirty': False, 'config_hash': 'c0ffee', 'cpu': 'x',
      'sources': ['lth_jax/a.py']}]))
  marker = provenance.cite(run, root)
  assert marker == f'<!-- provenance: commit={sha} config=c0ffee cpu="x" -->'
  assert provenance.read_ledger(root) == {f'{sha}:c0ffee': ['lth_jax/a.py']}
  (root / 'README.md').write_text(f'# r\n{marker}\n\n' + table('cited'))
  (root / 'lth_jax' / 'b.py').write_text('y = 2\n')   # not imported by it
  commit_all(root, 'unrelated module')
  assert states(root) == {'cited': 'current'}
  # The same table without the ledger: any code change makes it stale.
  assert provenance.status(root, {'commit': sha, 'config': 'c0ffee'},
                           ledger={}).startswith('stale')
  (root / 'lth_jax' / 'a.py').write_text('x = 2\n')   # imported by it
  later = commit_all(root, 'its module')
  assert states(root)['cited'] == (
      f'stale: 1 later commit(s) changed files the command imported, '
      f'last {later[:7]}')


def test_records_list_the_imported_sources_and_config_file(tmp_path):
  rec = provenance.record({'a': 1}, argv=[
      'x', f'--config={REPO}/configs/lenet300_mnist.py:preset=cpu'])
  assert 'lth_jax/provenance.py' in rec['sources']
  assert 'configs/lenet300_mnist.py' in rec['sources']
  assert all(s.split('/')[0] in provenance.CODE_PATHS
             for s in rec['sources'])
