"""Every randomness stream of a replicate has its own number."""
from lth_jax import streams
from lth_jax.lottery import experiment
from lth_jax.studies.connectivity import instability
from lth_jax.studies.supermasks import runner as supermasks


def test_stream_numbers_are_distinct():
  values = [int(s) for s in streams.Stream]
  assert len(values) == len(set(values)), values


def test_studies_use_the_enum():
  assert experiment.INIT_STREAM == streams.Stream.INIT
  assert experiment.DATA_STREAM == streams.Stream.DATA
  assert instability.INSTABILITY_STREAM == streams.Stream.INSTABILITY
  assert supermasks.SUPERMASK_STREAM == streams.Stream.SUPERMASK
  assert instability.INSTABILITY_STREAM != supermasks.SUPERMASK_STREAM
