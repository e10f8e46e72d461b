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
      supermask_<hash>/                    SupermaskDir
    early_masking/                         EarlyMaskingDir
    structure/                             RunLayout.structure
    settings.json  rewind_points/  k_<k>/  a connectivity sweep (SweepDir)
    transfer_<source-hash>.json            a transfer's source record

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
from typing import Any

PathLike = str | os.PathLike

CONFIG = 'config.json'
#: Under a workdir: the config of every run (``<run-hash>/config.json``).
RUN_CONFIGS_GLOB = f'*/{CONFIG}'
SUMMARY = 'summary.json'
METRICS = 'metrics.jsonl'
MASKS = 'masks'
TRAINED = 'trained'
CHECKPOINTS = 'checkpoints'
INIT = 'init'
REWIND_POINT = 'rewind_point'
CAPTURES = 'captures'
LOCK = 'lock'
EVENTS = 'events'
#: Study folders and files.
STRUCTURE = 'structure'
EARLY_MASKING = 'early_masking'
EXPORT = 'export'
SETTINGS = 'settings.json'
PATH_RECORD = 'path.json'
MASK_SOURCE = 'mask_source'
MASK_SOURCE_RECORD = 'mask_source.json'
REPLAY_RECORD = 'replay.json'


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

  @property
  def events(self) -> pathlib.Path:
    """Its TensorBoard event files."""
    return self.path / EVENTS

  @property
  def captures(self) -> pathlib.Path:
    return self.path / CAPTURES

  def capture(self, step: int) -> pathlib.Path:
    """Its weights captured at ``step`` (``captures/step_<s>``)."""
    return self.captures / step_name(step)

  def file(self, name: str) -> pathlib.Path:
    """A study's own file or tree in the job (``name`` has no '/')."""
    return _child(self.path, name)

  def done(self) -> bool:
    """Whether the job finished (its ``summary.json``, written last)."""
    return self.summary.exists()


def _child(folder: pathlib.Path, name: str) -> pathlib.Path:
  if not name or '/' in name or name in ('.', '..'):
    raise ValueError(f'{name!r} is not a file name (one path part).')
  return folder / name


@dataclasses.dataclass(frozen=True)
class StudyDir:
  """A study's folder: its tables, figures and records (``file``)."""
  path: pathlib.Path

  def __init__(self, path: PathLike):
    object.__setattr__(self, 'path', pathlib.Path(path))

  @property
  def config(self) -> pathlib.Path:
    return self.path / CONFIG

  def file(self, name: str) -> pathlib.Path:
    """A table, figure or record of the study (``name`` has no '/')."""
    return _child(self.path, name)


class SupermaskDir(StudyDir):
  """``supermask_<hash>/``: cached parts and learned-supermask jobs."""

  def untrained(self, replicate: int) -> pathlib.Path:
    return self.path / 'untrained' / f'r{replicate}.json'

  def learned_job(self, method: str, remaining: float,
                  replicate: int) -> JobDir:
    return JobDir(self.path / 'learned' / _learned_name(method, remaining,
                                                        replicate))

  def learned_record(self, method: str, remaining: float,
                     replicate: int) -> pathlib.Path:
    """A learned run's row as written before it was a job (read only)."""
    return self.path / 'learned' / (
        _learned_name(method, remaining, replicate) + '.json')


def _learned_name(method: str, remaining: float, replicate: int) -> str:
  return f'{method}_k{remaining:.2f}_r{replicate}'


class EarlyMaskingDir(StudyDir):
  """``early_masking/``: captures of the replay, tickets, controls."""

  def captures(self, replicate: int) -> pathlib.Path:
    """The replay of a replicate (a job): its captures ``step_<s>``."""
    return self.path / CAPTURES / replicate_name(replicate)

  def capture(self, replicate: int, step: int) -> pathlib.Path:
    return self.captures(replicate) / step_name(step)

  def replay_record(self, replicate: int) -> pathlib.Path:
    """Written last: the replay of ``replicate`` is done."""
    return self.captures(replicate) / REPLAY_RECORD

  def oneshot_base(self, level: int, replicate: int) -> pathlib.Path:
    return self.path / 'oneshot' / level_name(level) / replicate_name(
        replicate)

  def oneshot(self, level: int, replicate: int, label: Any) -> JobDir:
    """The one-shot ticket of mask time ``label`` (``t_<label>``)."""
    return JobDir(self.oneshot_base(level, replicate) / f't_{label}')

  def control(self, replicate: int, level: int, tag: str) -> JobDir:
    return JobDir(self.path / 'controls' / replicate_name(replicate)
                  / f'{level_name(level)}_{tag}')

  def iterative(self, point: float, replicate: int, level: int) -> JobDir:
    return JobDir(self.path / 'iterative' / f'point_{point:g}'
                  / replicate_name(replicate) / level_name(level))


class SweepDir(StudyDir):
  """A connectivity sweep's folders (in the trunk's run directory)."""

  @property
  def settings(self) -> pathlib.Path:
    return self.path / SETTINGS

  def rewind_points(self, replicate: int) -> pathlib.Path:
    return self.path / 'rewind_points' / replicate_name(replicate)

  def rewind_point(self, replicate: int, step: int) -> pathlib.Path:
    return self.rewind_points(replicate) / step_name(step)

  def capture_run(self, replicate: int) -> JobDir:
    """The dense run that captures the rewind points."""
    return JobDir(self.rewind_points(replicate) / 'capture')

  def pair(self, step: int, level: int, replicate: int,
           pair: int) -> 'PairDir':
    return PairDir(self.path / f'k_{step}' / level_name(level)
                   / replicate_name(replicate) / f'pair_{pair}')


class PairDir(StudyDir):
  """A pair of copies of a connectivity sweep and their path."""

  def copy(self, copy: int) -> JobDir:
    return JobDir(self.path / f'copy_{copy}')

  @property
  def record(self) -> pathlib.Path:
    """``path.json``, written last: the pair is done."""
    return self.path / PATH_RECORD


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

  def supermask(self, tag: str) -> SupermaskDir:
    return SupermaskDir(self.study_dir('supermask', tag))

  @property
  def early_masking(self) -> EarlyMaskingDir:
    return EarlyMaskingDir(self.run_dir / EARLY_MASKING)

  @property
  def structure(self) -> StudyDir:
    return StudyDir(self.run_dir / STRUCTURE)

  @property
  def sweep(self) -> SweepDir:
    return SweepDir(self.run_dir)

  @property
  def export(self) -> pathlib.Path:
    return self.run_dir / EXPORT

  def transfer_record(self, source_hash: str) -> pathlib.Path:
    """Where a transfer's target run records its source."""
    return self.run_dir / f'transfer_{source_hash}.json'

  def transfer_report(self, source_hash: str) -> StudyDir:
    return StudyDir(self.run_dir / f'transfer_{source_hash}_report')

  def summaries_glob(self, branch: str | None = None) -> str:
    """The glob of every level summary of the trunk or of one branch."""
    middle = f'{branch_name(branch)}/' if branch else ''
    return f'replicate_*/{middle}level_*/{SUMMARY}'
