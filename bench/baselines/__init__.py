"""Imbalanced-learning methods re-implemented from their papers, usable without the harness."""
