"""The hierarchical RL search of AutoSMOTE: policies, V-trace learner, actors and the sampler."""
