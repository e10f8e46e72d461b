"""On-device augmentation (placeholder registry until crop_flip lands)."""
_AUGMENTATIONS = {'none': None}


def get_augmentation(name: str):
  if name not in _AUGMENTATIONS:
    raise ValueError(f'unknown augmentation {name!r}; known: '
                     f'{sorted(_AUGMENTATIONS)}.')
  return _AUGMENTATIONS[name]
