"""Live scalars: TensorBoard event files that a reader gets back."""
import struct

from tensorboardX.proto import event_pb2

from lth_jax.training import scalars


def read_scalars(directory):
  """``{(tag, step): value}`` of every event file in ``directory``.

  Event files are TFRecords: a little-endian u64 length, its CRC, the
  serialised ``Event``, its CRC.
  """
  out = {}
  for path in sorted(directory.glob('events.out.tfevents.*')):
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
      (length,) = struct.unpack('<Q', data[pos:pos + 8])
      event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
      pos += 12 + length + 4
      for value in event.summary.value:
        out[value.tag, event.step] = value.simple_value
  return out


def test_rows_become_scalars_per_replicate(tmp_path):
  writers = scalars.EventWriters([tmp_path / 'a', tmp_path / 'b'])
  writers.scalar(0, 'weights_remaining', 0.5, 0)
  writers.on_eval(10, [{'step': 10, 'train_loss': 0.25, 'val_acc': 0.75,
                        'test_acc': None},
                       None])  # replicate 1 stopped: nothing written
  writers.close()
  assert read_scalars(tmp_path / 'a') == {('weights_remaining', 0): 0.5,
                                          ('train_loss', 10): 0.25,
                                          ('val_acc', 10): 0.75}
  assert not (tmp_path / 'b').exists()
