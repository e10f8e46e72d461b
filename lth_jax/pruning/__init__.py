"""Pure pruning functions over params/mask pytrees."""
from lth_jax.pruning.distance import bn_channel_mask
from lth_jax.pruning.distance import distance_matrix
from lth_jax.pruning.distance import early_bird_step
from lth_jax.pruning.magnitude import check_rate
from lth_jax.pruning.magnitude import magnitude_scores
from lth_jax.pruning.magnitude import prune_global
from lth_jax.pruning.magnitude import prune_layerwise
from lth_jax.pruning.masks import apply_masks
from lth_jax.pruning.masks import check_mask_tree
from lth_jax.pruning.masks import DEFAULT_PRUNABLE
from lth_jax.pruning.masks import ones_like
from lth_jax.pruning.masks import prunable_paths
from lth_jax.pruning.mask_metrics import hamming_distance
from lth_jax.pruning.mask_metrics import iou
from lth_jax.pruning.mask_metrics import sparsity_report
from lth_jax.pruning.random_masks import random_like
from lth_jax.pruning.rewind import rewind
from lth_jax.pruning.tree_paths import leaf_paths
from lth_jax.pruning.selection import count_true
from lth_jax.pruning.selection import keep_top_k
from lth_jax.pruning.selection import keep_top_k_global
from lth_jax.pruning.selection import sort_key
from lth_jax.pruning.selection import top_k_global
from lth_jax.pruning.selection import top_k_per_leaf
from lth_jax.pruning.scoring import all_scorer_names
from lth_jax.pruning.scoring import register_scorer
from lth_jax.pruning.scoring import score
from lth_jax.pruning.structured import channel_norms
from lth_jax.pruning.structured import n_m_mask
from lth_jax.pruning.structured import prune_channels
from lth_jax.pruning.structured import prune_n_m
from lth_jax.pruning import scores  # registers magnitude, random, SNIP, GraSP
from lth_jax.pruning import synflow  # registers SynFlow
from lth_jax.pruning.criteria import all_criterion_names
from lth_jax.pruning.criteria import criterion_masks
from lth_jax.pruning.criteria import supermask_params
# Sparse training and one-shot pruning (their scorers register on import).
from lth_jax.pruning import distributions
from lth_jax.pruning import dst
from lth_jax.pruning import oneshot
from lth_jax.pruning import sparse_optax
