"""Every path of a run, in one place.

::

  workdir/<run-hash>/                      RunLayout(run_dir)
    config.json  lock  lock.process_<i>
    replicate_<r>/
      init/  rewind_point/                 trees (orbax)
      captures/step_<s>/                   weights captured at a step
      level_<L>/                           a job of the trunk (JobDir)
      branch_<name>/level_<L>/             a job of a control (branch)
    <study>_<hash>/                        a study's folder (study_dir)

A *job* directory (``JobDir``) holds what one trained network leaves:
``masks/``, ``trained/``, ``metrics.jsonl``, ``checkpoints/`` and, written
last, ``summary.json`` (the job is done when it exists). Studies name
their jobs' folders through ``RunLayout.study_dir`` and ``JobDir``; file
names live here as constants, so a file is renamed in one place.

>>> run = RunLayout('/w/abc123')
>>> str(run.level(2, 3)), str(run.level(0, 1, branch='random_reinit'))
('/w/abc123/replicate_2/level_3', '/w/abc123/replicate_0/branch_random_reinit/level_1')
>>> str(JobDir(run.level(0, 1)).summary)
'/w/abc123/replicate_0/level_1/summary.json'
"""
import dataclasses
import os
import pathlib

PathLike = str | os.PathLike

CONFIG = 'config.json'
SUMMARY = 'summary.json'
METRICS = 'metrics.jsonl'
MASKS = 'masks'
TRAINED = 'trained'
CHECKPOINTS = 'checkpoints'
INIT = 'init'
REWIND_POINT = 'rewind_point'
CAPTURES = 'captures'
LOCK = 'lock'


def replicate_name(replicate: int) -> str:
  return f'replicate_{replicate}'


def level_name(level: int) -> str:
  return f'level_{level}'


def branch_name(branch: str) -> str:
  return f'branch_{branch}'


def step_name(step: int) -> str:
  return f'step_{step}'


@dataclasses.dataclass(frozen=True)
class JobDir:
  """The folder of one trained network (a level, a branch level, a copy)."""
  path: pathlib.Path

  def __init__(self, path: PathLike):
    object.__setattr__(self, 'path', pathlib.Path(path))

  @property
  def masks(self) -> pathlib.Path:
    return self.path / MASKS

  @property
  def trained(self) -> pathlib.Path:
    return self.path / TRAINED

  @property
  def metrics(self) -> pathlib.Path:
    return self.path / METRICS

  @property
  def summary(self) -> pathlib.Path:
    return self.path / SUMMARY

  @property
  def checkpoints(self) -> pathlib.Path:
    return self.path / CHECKPOINTS

  def done(self) -> bool:
    """Whether the job finished (its ``summary.json``, written last)."""
    return self.summary.exists()


@dataclasses.dataclass(frozen=True)
class RunLayout:
  """The paths of one run directory (``workdir/<run-hash>``)."""
  run_dir: pathlib.Path

  def __init__(self, run_dir: PathLike):
    object.__setattr__(self, 'run_dir', pathlib.Path(run_dir))

  @classmethod
  def of(cls, workdir: PathLike, run_hash: str) -> 'RunLayout':
    return cls(pathlib.Path(workdir) / run_hash)

  @property
  def config(self) -> pathlib.Path:
    return self.run_dir / CONFIG

  @property
  def lock(self) -> pathlib.Path:
    return self.run_dir / LOCK

  def replicate(self, replicate: int) -> pathlib.Path:
    return self.run_dir / replicate_name(replicate)

  def init(self, replicate: int) -> pathlib.Path:
    return self.replicate(replicate) / INIT

  def rewind_point(self, replicate: int) -> pathlib.Path:
    return self.replicate(replicate) / REWIND_POINT

  def captures(self, replicate: int) -> pathlib.Path:
    return self.replicate(replicate) / CAPTURES

  def capture(self, replicate: int, step: int) -> pathlib.Path:
    return self.captures(replicate) / step_name(step)

  def level(self, replicate: int, level: int,
            branch: str | None = None) -> pathlib.Path:
    base = self.replicate(replicate)
    if branch:
      base = base / branch_name(branch)
    return base / level_name(level)

  def job(self, replicate: int, level: int,
          branch: str | None = None) -> JobDir:
    return JobDir(self.level(replicate, level, branch))

  def study_dir(self, study: str, tag: str) -> pathlib.Path:
    """A study's folder in this run: ``<study>_<tag>`` (tag: its hash)."""
    return self.run_dir / f'{study}_{tag}'

  def summaries_glob(self, branch: str | None = None) -> str:
    """The glob of every level summary of the trunk or of one branch."""
    middle = f'{branch_name(branch)}/' if branch else ''
    return f'replicate_*/{middle}level_*/{SUMMARY}'
