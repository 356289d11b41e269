"""The SMOTE search space of AutoSMOTE: neighbours, synthetic rows, g = g1 * g2 samples per row."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from autosmote.rl.acting import EpisodePlayer, PlayerConfig
from autosmote.rl.policies import build_policies, flat_parameters
from autosmote.space import (N_USAGE_BINS, SearchSpace, cross_instance_actions, decode_pairs, neighbour_table,
                             rows_for_counts, state_features, synthesize)

LINE = np.array([[0.0], [1.0], [3.0], [7.0]])          # distances are easy to read off


def test_neighbour_table_lists_each_row_first_then_by_distance():
    assert neighbour_table(LINE, 3).tolist() == [[0, 1, 2], [1, 0, 2], [2, 1, 0], [3, 2, 1]]


def test_neighbour_table_breaks_ties_by_row_index_and_keeps_duplicates_apart():
    X = np.array([[0.0], [1.0], [-1.0], [0.0]])
    table = neighbour_table(X, 4)
    assert table[0].tolist() == [0, 3, 1, 2]      # row 3 duplicates row 0 but row 0 itself comes first
    assert table[3].tolist() == [3, 0, 1, 2]


def test_neighbour_table_rejects_k_beyond_the_rows():
    with pytest.raises(ValueError, match="k must be between 1"):
        neighbour_table(LINE, 5)


def test_synthesize_reproduces_hand_computed_rows():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    nbrs = neighbour_table(X, 3)                       # row 0: [0, 1, 2]; row 2: [2, 0, 1]
    rows = np.array([0, 0, 2, 2])
    ranks = np.array([1, 2, 1, 0])
    weights = np.array([0.5, 0.25, 1.0, 0.75])
    expected = [[1.0, 0.0],        # 0 + .5 * (row1 - row0)
                [0.0, 1.0],        # 0 + .25 * (row2 - row0)
                [0.0, 0.0],        # row2 + 1 * (row0 - row2)
                [0.0, 4.0]]        # rank 0 is the row itself: any weight gives the row back
    assert synthesize(X, nbrs, rows, ranks, weights).tolist() == expected


def test_decode_pairs_and_rows_for_counts():
    ranks, weights = decode_pairs(np.array([0, 4, 5, 13]), 5)
    assert ranks.tolist() == [0, 0, 1, 2] and weights.tolist() == [0, 4, 0, 3]
    assert rows_for_counts(np.array([2, 0, 1])).tolist() == [0, 0, 2]


def test_state_features_are_one_hot_bin_then_the_row():
    X = np.array([[5.0, 6.0], [7.0, 8.0]], dtype=np.float32)
    states = state_features(X)
    assert states.shape == (2, N_USAGE_BINS, N_USAGE_BINS + 2)
    assert states[1, 3].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7.0, 8.0]


def test_cross_instance_actions_follow_four_ir_over_g2_with_at_least_two():
    assert cross_instance_actions(100, 10) == 40
    assert cross_instance_actions(20, 10) == 8
    assert cross_instance_actions(1.2, 10) == 2


def _player(X_min, ablation=None, g1=6, g2=4):
    space = SearchSpace(g1_actions=g1, g2_actions=g2, k=min(5, len(X_min)))
    config = PlayerConfig(space=space, ablation=ablation)
    player = EpisodePlayer(config, X_min.astype(np.float32), neighbour_table(X_min, space.k))
    learned = config.learned
    nets = build_policies(player.states.shape[-1], g1, g2, space.n_weights, seed=0, cross=learned["cross"],
                          instance=learned["instance"], low=learned["low"], flat=learned["flat"])
    player.load({name: (0, flat_parameters(net)) for name, net in nets.items()})
    return player


@pytest.mark.parametrize("ablation", [None, "no_low_level", "random_search"])
def test_every_row_gets_g1_times_its_g2_samples(ablation):
    X_min = np.random.default_rng(0).normal(size=(12, 3))
    player = _player(X_min, ablation)
    for index in range(6):
        episode = player.play(index, seed=3)
        assert episode.samples_per_row.tolist() == (episode.g1 * episode.g2).tolist()
        assert len(episode.actions) == episode.samples_per_row.sum()
        assert episode.actions.max(initial=0) < player.space.n_pairs


def test_episode_decisions_depend_only_on_seed_and_index():
    X_min = np.random.default_rng(1).normal(size=(10, 2))
    a, b = _player(X_min), _player(X_min)
    b.play(7, seed=5)                                  # b's cache now holds another episode's logits
    first, second = a.play(3, seed=5), b.play(3, seed=5)
    assert first.g1 == second.g1 and np.array_equal(first.g2, second.g2)
    assert np.array_equal(first.actions, second.actions)
    assert not np.array_equal(first.actions, a.play(4, seed=5).actions)


def test_the_state_of_row_i_in_bin_b_holds_the_features_of_row_i():
    X_min = np.random.default_rng(2).normal(size=(6, 2))
    player = _player(X_min)
    assert torch.equal(player.states[4, 2, N_USAGE_BINS:], torch.from_numpy(X_min[4].astype(np.float32)))


def test_the_space_and_the_package_import_without_torch():
    """The harness's tables read the G1 rule from autosmote.space; the sampler, and torch, load on first use."""
    code = ("import json, sys; import autosmote.space; loaded = ['torch' in sys.modules]; import autosmote\n"
            "loaded.append('torch' in sys.modules); sampler = autosmote.AutoSMOTE\n"
            "print(json.dumps([loaded, 'torch' in sys.modules, sampler.__module__, 'AutoSMOTE' in dir(autosmote)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [[False, False], True, "autosmote.rl.sampler", True]


def test_the_package_names_what_it_lacks():
    import autosmote
    with pytest.raises(AttributeError, match="has no attribute 'Sampler'"):
        autosmote.Sampler
