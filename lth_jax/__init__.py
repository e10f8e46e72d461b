"""lth-jax: the Lottery Ticket Hypothesis in JAX/Flax."""
