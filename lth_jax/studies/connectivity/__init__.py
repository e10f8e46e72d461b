"""Linear mode connectivity and instability (Frankle et al. 2020): the
sweep over rewind points (``sweep``), its pure pieces (``instability``) and
its tables and figures (``report``)."""
