"""Everything a lottery run derives from its config, resolved once.

An ``Experiment`` holds the data set on device, the model, durations in
steps, the replicate executor and the run directory. The trunk (IMP), its
controls (branches) and every research driver train through
``Experiment.train``, which runs the engine (``lth_jax.training.engine``)
with the config's loop, checkpoints beside each job's outputs and writes
live scalars (TensorBoard) there.
"""
import dataclasses
import json
import pathlib
from typing import Any

import jax
import ml_collections

from lth_jax import data as data_lib
from lth_jax import errors
from lth_jax import models
from lth_jax import pruning
from lth_jax import streams
from lth_jax.data import augment as augment_lib
from lth_jax.lottery import config as config_lib
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.training import multilabel
from lth_jax.training import batching
from lth_jax.training import durations
from lth_jax.training import engine
from lth_jax.training import losses
from lth_jax.training import optimizers
from lth_jax.training import replicates
from lth_jax.training import scalars
from lth_jax.training import state as state_lib

# Streams of randomness per replicate, derived from config.seed.
INIT_STREAM = streams.Stream.INIT
DATA_STREAM = streams.Stream.DATA
CONTROL_STREAM = streams.Stream.CONTROL


def _has_convolutions(model: Any, dataset: data_lib.Dataset) -> bool:
  """Whether ``model`` has a kernel of rank > 2 (shapes only, no compute).

  The sample input has the data set's own dtype: float images, or integer
  token ids for text models (an embedding).
  """
  x = dataset.train_images
  shapes = jax.eval_shape(lambda x: model.init(jax.random.key(0), x),
                          jax.ShapeDtypeStruct((1,) + x.shape[1:], x.dtype))
  return any(len(leaf.shape) > 2 for leaf in jax.tree.leaves(shapes))


@dataclasses.dataclass
class Experiment:
  """A resolved lottery run (see ``Experiment.setup``)."""
  config: ml_collections.ConfigDict
  run_dir: pathlib.Path
  dataset: data_lib.Dataset
  data: batching.DeviceData
  model: Any
  task: losses.Task
  augment: Any
  steps_per_epoch: int
  total_steps: int
  eval_every: int
  checkpoint_every: int
  rewind_step: int
  executor: replicates.Executor
  #: Steps per compiled call: 0 runs each chunk as one ``lax.scan``; 1 runs
  #: one unrolled step per call (convolutional models on CPU, where XLA is
  #: ~50x slower on convolution gradients inside loops, jax#12868).
  steps_per_call: int = 0

  @classmethod
  def setup(cls, config: ml_collections.ConfigDict, workdir: str,
            dataset: data_lib.Dataset | None = None) -> 'Experiment':
    """Validates ``config``, loads the data and resolves every duration."""
    config_lib.validate(config)
    run_dir = config_lib.run_dir(config, workdir)
    dataset = dataset or data_lib.get_dataset(config.data)
    t = config.training
    spe = batching.steps_per_epoch(len(dataset.train_images), t.batch_size)
    total = durations.parse_duration(t.steps, spe, 'training.steps')
    rewind_step = durations.parse_duration(
        config.pruning.rewind_step, spe, 'pruning.rewind_step',
        allow_zero=True)
    if config.pruning.rewind == 'step' and rewind_step >= total:
      raise errors.InputError(
          f'pruning.rewind_step ({rewind_step} steps) must be '
          f'before the end of training ({total} steps).')
    kwargs = config.model_kwargs.to_dict()
    kwargs = {k: tuple(v) if isinstance(v, list) else v
              for k, v in kwargs.items()}
    head_sizes = kwargs.get('head_sizes')
    model = models.get_model(config.model, num_classes=dataset.num_classes,
                             **kwargs)
    strategy = replicates.resolve_strategy(config.sweep.strategy,
                                           config.replicates)
    executor = replicates.Executor(strategy)
    return cls(
        config=config, run_dir=run_dir, dataset=dataset,
        data=executor.replicated(batching.to_device(dataset)), model=model,
        task=losses.Task(dataset.multi_label,
                         tuple(head_sizes) if head_sizes else None),
        augment=augment_lib.get_augmentation(config.data.augment),
        steps_per_epoch=spe, total_steps=total,
        eval_every=durations.parse_duration(t.eval_every, spe,
                                            'training.eval_every'),
        checkpoint_every=durations.parse_duration(
            config.checkpoint_every, spe, 'checkpoint_every',
            allow_zero=True),
        rewind_step=rewind_step, executor=executor,
        steps_per_call=1 if (jax.default_backend() == 'cpu'
                             and _has_convolutions(model, dataset)) else 0)

  def write_config(self) -> None:
    """Writes the resolved config beside the results."""
    storage.write_text_atomic(layout.RunLayout(self.run_dir).config, json.dumps(
        config_lib.flatten(self.config), indent=1, sort_keys=True,
        default=str) + '\n')

  def replicate_key(self, replicate: int, stream: int) -> jax.Array:
    """The key of one randomness stream of one replicate."""
    key = jax.random.fold_in(jax.random.key(self.config.seed), replicate)
    return jax.random.fold_in(key, stream)

  def sample_input(self) -> jax.Array:
    return self.data.train_images[:1]

  def loop_spec(self) -> engine.LoopSpec:
    """The engine's loop for this config (durations resolved in steps)."""
    t = self.config.training
    return engine.LoopSpec(
        total_steps=self.total_steps, batch_size=t.batch_size,
        steps_per_epoch=self.steps_per_epoch, eval_every=self.eval_every,
        eval_batch_size=t.eval_batch_size,
        checkpoint_every=self.checkpoint_every,
        test_every_eval=t.test_every_eval,
        steps_per_call=self.steps_per_call, task=self.task,
        augment=self.augment)

  def stop_rule(self) -> engine.EarlyStopping | None:
    """``training.early_stop_patience`` evaluations, or None (0: off)."""
    patience = self.config.training.early_stop_patience
    return engine.EarlyStopping(patience) if patience else None

  def train(self, states: list[state_lib.TrainState],
            out_dirs: list[pathlib.Path], label: str,
            hooks: tuple[engine.AtSteps, ...] = (), progress: Any = None,
            names: list[str] | None = None,
            spec: engine.LoopSpec | None = None, **engine_kwargs
            ) -> list[engine.Run]:
    """Trains ``states`` together through the engine with this config.

    Each job ``i`` checkpoints under ``out_dirs[i]/checkpoints`` (and
    resumes from there) and writes TensorBoard events to
    ``out_dirs[i]/events`` unless ``config.tensorboard`` is off. ``spec``
    replaces the config's loop (``loop_spec()``). Extra keyword arguments
    go to ``engine.train`` (``evaluate``, ``train_step``, ``stop``: the
    config's stop rule unless given).
    """
    # Several processes: process 0 writes the events; mid-run checkpoints
    # are off (a killed level restarts from its start, with equal results).
    one = jax.process_count() == 1
    writer = (scalars.EventWriters([layout.JobDir(d).events
                                    for d in out_dirs])
              if self.config.tensorboard and jax.process_index() == 0
              else None)
    if writer:
      for i, state in enumerate(states):
        masks = getattr(state, 'masks', None)  # supermasks have none
        if masks is not None:
          writer.scalar(i, 'weights_remaining', pruning.sparsity_report(
              masks)['fraction'], int(state.step))
    if self.task.multi_label and 'evaluate' not in engine_kwargs:
      # Multi-label: micro/macro F1, precision and recall beside the loss.
      engine_kwargs['evaluate'] = multilabel.MultiLabelEvaluate(
          self.config.training.eval_batch_size)
    engine_kwargs.setdefault('stop', self.stop_rule())
    try:
      return engine.train(
          states, self.data, spec or self.loop_spec(), self.executor,
          checkpoint_dirs=([storage.checkpoint_dir(d) for d in out_dirs]
                           if one else None),
          hooks=hooks,
          on_eval=writer.on_eval if writer else None, label=label,
          names=names, progress=progress, **engine_kwargs)
    finally:
      if writer:
        writer.close()

  def init_variables(self, replicate: int, key: jax.Array | None = None
                     ) -> dict[str, Any]:
    """Initial ``{'params', 'batch_stats'}`` of a replicate (saved once)."""
    path = storage.init_dir(self.run_dir, replicate)
    fresh = key is not None or not storage.tree_exists(path)
    key = self.replicate_key(replicate, INIT_STREAM) if key is None else key

    def init(k):
      variables = self.model.init(k, self.sample_input(), train=False)
      return {'params': variables['params'],
              'batch_stats': variables.get('batch_stats', {})}

    if fresh:
      return init(key)
    # Saved: only the structure is needed, not a second initialisation.
    return storage.load_tree(path, jax.eval_shape(init, key))

  def save_init(self, replicate: int, variables: dict[str, Any]) -> None:
    storage.save_tree_once(storage.init_dir(self.run_dir, replicate),
                           variables)

  def dense_masks(self, params: Any) -> Any:
    return pruning.ones_like(params, self.config.pruning.prunable)

  def optimizer(self, constant_lr: float | None = None):
    """The level's optimizer (cached: the same object never recompiles)."""
    cache = self.__dict__.setdefault('_optimizers', {})
    if constant_lr not in cache:
      cache[constant_lr] = optimizers.make_optimizer(
          self.config.training, self.steps_per_epoch, self.total_steps,
          constant_lr)
    return cache[constant_lr]

  def final_learning_rate(self) -> float:
    schedule = optimizers.learning_rate_schedule(
        self.config.training, self.steps_per_epoch, self.total_steps)
    return float(schedule(self.total_steps))

  def new_state(self, params: Any, batch_stats: Any, masks: Any,
                replicate: int, step: int = 0,
                constant_lr: float | None = None) -> state_lib.TrainState:
    """A fresh train state starting at ``step`` from (masked) ``params``."""
    pruning.check_mask_tree(params, masks)
    return state_lib.create_train_state(
        self.model, params, masks, self.optimizer(constant_lr),
        self.replicate_key(replicate, DATA_STREAM), batch_stats, step)
