"""The sampler registry: every method the harness can run, by name, with its group and ratio grid."""
from .registry import SAMPLERS, SamplerEntry, parse_sampler, resolve_samplers

__all__ = ["SAMPLERS", "SamplerEntry", "parse_sampler", "resolve_samplers"]
