"""The error-landscape study of IMP (Paul et al. 2023): see ``runner``."""
