"""lth_jax uses orbax through its public API only (issue 28, item 8).

An import of ``orbax.checkpoint._src``, an access to an underscore name of
orbax, or an underscore method defined in a class derived from an orbax
class (directly or through another class of lth_jax) ties the stored trees
to one orbax release. Read from the source (no imports: cheap).
"""
import ast
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]


def _private(name: str) -> bool:
  return name.startswith('_') and not name.endswith('__')


def _orbax_names(tree: ast.Module) -> set[str]:
  """Names a module binds to orbax modules or objects."""
  names = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names |= {(a.asname or a.name).split('.')[0] for a in node.names
                if a.name.split('.')[0] == 'orbax'}
    elif isinstance(node, ast.ImportFrom) and (
        node.module or '').split('.')[0] == 'orbax':
      names |= {a.asname or a.name for a in node.names}
  return names


def _root(node: ast.expr) -> str | None:
  while isinstance(node, ast.Attribute):
    node = node.value
  return node.id if isinstance(node, ast.Name) else None


def _last(node: ast.expr) -> str | None:
  return node.attr if isinstance(node, ast.Attribute) else _root(node)


def private_uses(sources: dict[str, str]) -> list[str]:
  """Each use of a private part of orbax in ``{module name: source}``."""
  trees = {name: ast.parse(text) for name, text in sources.items()}
  found = []
  derived = set()  # classes of these modules derived from an orbax class
  classes = []
  for name, tree in trees.items():
    orbax = _orbax_names(tree)
    for node in ast.walk(tree):
      if isinstance(node, (ast.Import, ast.ImportFrom)):
        module = node.module if isinstance(node, ast.ImportFrom) else None
        paths = [module or ''] + [a.name for a in node.names]
        if module and module.split('.')[0] == 'orbax':
          paths += [f'{module}.{a.name}' for a in node.names]
        found += [f'{name}: imports {p}' for p in paths
                  if p.split('.')[0] == 'orbax'
                  and any(map(_private, p.split('.')))]
      elif isinstance(node, ast.Attribute) and _private(node.attr) and (
          _root(node) in orbax):
        found.append(f'{name}: uses {ast.unparse(node)}')
      elif isinstance(node, ast.ClassDef):
        classes.append((name, node, orbax))
  grown = True
  while grown:  # derived classes, across modules, to a fixpoint
    grown = False
    for name, node, orbax in classes:
      if node.name not in derived and any(
          _root(b) in orbax or _last(b) in derived for b in node.bases):
        derived.add(node.name)
        grown = True
  for name, node, _ in classes:
    if node.name in derived:
      found += [f'{name}: {node.name}.{f.name} (a private method)'
                for f in node.body
                if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                and _private(f.name)]
  return found


def test_lth_jax_uses_no_private_part_of_orbax():
  sources = {str(p.relative_to(REPO)): p.read_text()
             for p in sorted((REPO / 'lth_jax').rglob('*.py'))}
  assert any('orbax' in s for s in sources.values())
  assert not private_uses(sources)


def test_private_uses_are_caught():
  """The code this test replaced (and variants) fails it."""
  old = '''
import orbax.checkpoint as ocp
from orbax.checkpoint._src.serialization import ocdbt_utils as u

class Handler(ocp.type_handlers.NumpyHandler):
  async def _background_serialize(self, values, infos, args=None):
    return u.get_process_index_for_subdir(True)

  async def serialize(self, values, infos, args=None):
    pass
'''
  assert private_uses({'old.py': old}) == [
      'old.py: imports orbax.checkpoint._src.serialization',
      'old.py: imports orbax.checkpoint._src.serialization.ocdbt_utils',
      'old.py: Handler._background_serialize (a private method)']
  other = '''
import orbax.checkpoint
from orbax.checkpoint import _src
from old import Handler

class Deeper(Handler):
  def _write(self):
    return orbax.checkpoint._src.multihost.process_index()
'''
  found = private_uses({'old.py': old, 'other.py': other})
  assert sorted(f for f in found if f.startswith('other')) == [
      'other.py: Deeper._write (a private method)',
      'other.py: imports orbax.checkpoint._src',
      'other.py: uses orbax.checkpoint._src']
  public = '''
import orbax.checkpoint as ocp

class Handler(ocp.type_handlers.TypeHandler):
  async def serialize(self, values, infos, args=None):
    return [ocp.future.CommitFutureAwaitingContractedSignals(_go())]

class Local:
  def _helper(self):
    return ocp.type_handlers.NumpyHandler()
'''
  assert not private_uses({'public.py': public})
