"""Tickets as artifacts: compact checksummed files and sparse networks."""
from lth_jax.export.runs import export_level
from lth_jax.export.runs import to_flax
from lth_jax.export.sparse import bcoo_kernels
from lth_jax.export.sparse import mlp_forward
from lth_jax.export.sparse import sparse_mlp
from lth_jax.export.sparse import SparseLayer
from lth_jax.export.sparse import to_bcoo
from lth_jax.export.ticket import CorruptTicketError
from lth_jax.export.ticket import decode
from lth_jax.export.ticket import encode
from lth_jax.export.ticket import load_ticket
from lth_jax.export.ticket import save_ticket
from lth_jax.export.ticket import Ticket
