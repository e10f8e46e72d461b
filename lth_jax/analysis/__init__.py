"""Analysis of lottery runs: tables and figures."""
from lth_jax.analysis.plots import plot_accuracy
from lth_jax.analysis.plots import plot_early_stop
from lth_jax.analysis.tables import aggregate
from lth_jax.analysis.tables import to_markdown
from lth_jax.analysis.tables import write_csv
from lth_jax.analysis.report import write_report
from lth_jax.analysis.connectivity import alpha_grid
from lth_jax.analysis.connectivity import barrier
from lth_jax.analysis.connectivity import evaluate_path
from lth_jax.analysis.connectivity import interpolate
