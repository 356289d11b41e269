"""Actors: play episodes and score them (fit the classifier on train + synthetic set, score on validation).

`n_jobs == 1` plays in the calling process; otherwise each actor is a worker process (fork where the
platform has it, else spawn) that receives weights and an episode index through a pipe and sends back
the episode with its score. Actors act on CPU with one thread each: their matrices are small, and the
classifier fit is what should have the cores.
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mp_connection
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from ..space import decode_pairs, rows_for_counts, synthesize
from .acting import Episode, EpisodePlayer, PlayerConfig


@dataclass
class SearchData:
    """Everything an actor needs: the data to fit and score on, and the minority rows to interpolate."""
    X_fit: np.ndarray
    y_fit: np.ndarray
    X_eval: np.ndarray
    y_eval: np.ndarray
    X_min: np.ndarray            # minority rows of X_fit (interpolated)
    X_min_scaled: np.ndarray     # the same rows, standardised (what the policies see)
    neighbours: np.ndarray       # (n, K) nearest rows of the same class, into X_min
    row_labels: np.ndarray       # the class of each X_min row (its synthetic rows get it)
    classifier: Any
    metric: Callable[[np.ndarray, np.ndarray], float]


class Environment:
    """Turns an episode's decisions into a synthetic set and scores it; reuses one training buffer."""

    def __init__(self, data: SearchData, weights: np.ndarray, max_synthetic: int):
        self.data, self.weights = data, np.asarray(weights, dtype=data.X_min.dtype)
        n_fit = len(data.X_fit)
        self.X = np.empty((n_fit + max_synthetic, data.X_fit.shape[1]), dtype=data.X_fit.dtype)
        self.X[:n_fit] = data.X_fit
        self.y = np.empty(n_fit + max_synthetic, dtype=data.y_fit.dtype)
        self.y[:n_fit] = data.y_fit
        self.n_fit = n_fit

    def synthetic_rows(self, samples_per_row: np.ndarray, actions: np.ndarray) -> np.ndarray:
        ranks, weight_index = decode_pairs(actions.astype(np.int64), len(self.weights))
        return synthesize(self.data.X_min, self.data.neighbours, rows_for_counts(samples_per_row), ranks,
                          self.weights[weight_index])

    def score(self, episode: Episode) -> None:
        """Fill in the episode's score and fit time (synthesis counts as acting)."""
        start, start_cpu = time.perf_counter(), time.process_time()
        synthetic = self.synthetic_rows(episode.samples_per_row, episode.actions)
        end = self.n_fit + len(synthetic)
        self.X[self.n_fit:end] = synthetic
        self.y[self.n_fit:end] = self.data.row_labels[rows_for_counts(episode.samples_per_row)]
        fit_start, fit_start_cpu = time.perf_counter(), time.process_time()
        model = clone(self.data.classifier).fit(self.X[:end], self.y[:end])
        episode.score = float(self.data.metric(self.data.y_eval, model.predict(self.data.X_eval)))
        if not np.isfinite(episode.score):
            raise ValueError(f"the metric gave {episode.score} on the validation data; it must be a finite number")
        episode.fit_s = time.perf_counter() - fit_start
        episode.fit_cpu = time.process_time() - fit_start_cpu
        episode.act_s += fit_start - start
        episode.act_cpu += fit_start_cpu - start_cpu


class Actor:
    """One player + environment; what a worker process (or the calling process) runs."""

    def __init__(self, config: PlayerConfig, data: SearchData, seed: int):
        self.player = EpisodePlayer(config, data.X_min_scaled, data.neighbours)
        self.env = Environment(data, np.asarray(config.space.weights), len(data.X_min) * config.space.max_per_row)
        self.seed = seed

    def run(self, weights: dict, index: int) -> Episode:
        self.player.load(weights)
        episode = self.player.play(index, self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.env.score(episode)
        return episode


class InProcessActors:
    """n_jobs = 1: a submitted episode is played in the calling process when results are asked for."""

    def __init__(self, config: PlayerConfig, data: SearchData, seed: int):
        self.actor = Actor(config, data, seed)
        self.n_actors = 1
        self._queued: list[tuple[dict, int]] = []

    def submit(self, actor: int, weights: dict, index: int) -> None:
        self._queued.append((weights, index))

    def results(self) -> list[tuple[int, Episode]]:
        out = [(0, self.actor.run(weights, index)) for weights, index in self._queued]
        self._queued = []
        return out

    def close(self) -> None:
        pass


def _worker(conn, config: PlayerConfig, data: SearchData, seed: int) -> None:
    """A worker process: play each episode it is sent until it gets None."""
    torch.set_num_threads(1)
    with threadpool_limits(1):
        actor = Actor(config, data, seed)
        while True:
            try:
                message = conn.recv()
            except EOFError:           # the main process is gone
                break
            if message is None:
                break
            weights, index = message
            try:
                conn.send(actor.run(weights, index))
            except Exception as err:   # the main process re-raises it with the traceback
                conn.send(RuntimeError(f"actor failed on episode {index}: {err!r}\n{traceback.format_exc()}"))
    conn.close()


class ProcessActors:
    """n_jobs > 1: one worker process per actor, each playing one submitted episode at a time."""

    def __init__(self, n_actors: int, config: PlayerConfig, data: SearchData, seed: int):
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        context = mp.get_context(method)
        self.n_actors = n_actors
        self.connections, self.processes = [], []
        self._busy: set[int] = set()
        self._sent: list[dict[str, int]] = [{} for _ in range(n_actors)]   # weight versions each actor has
        for _ in range(n_actors):
            here, there = context.Pipe()
            process = context.Process(target=_worker, args=(there, config, data, seed), daemon=True)
            process.start()
            there.close()
            self.connections.append(here)
            self.processes.append(process)

    def submit(self, actor: int, weights: dict, index: int) -> None:
        """Send episode `index` to an idle actor, with the nets whose weights it does not have yet."""
        fresh = {name: value for name, value in weights.items() if self._sent[actor].get(name) != value[0]}
        self._sent[actor].update({name: value[0] for name, value in fresh.items()})
        self.connections[actor].send((fresh, index))
        self._busy.add(actor)

    def results(self) -> list[tuple[int, Episode]]:
        """Block until at least one busy actor has finished; (actor, episode) for each that has."""
        by_connection = {self.connections[a]: a for a in self._busy}
        out = []
        for conn in mp_connection.wait(list(by_connection)):
            actor = by_connection[conn]
            try:
                result = conn.recv()
            except EOFError:
                raise RuntimeError(f"actor process {actor} died (exit code {self.processes[actor].exitcode})") \
                    from None
            if isinstance(result, Exception):
                raise result
            self._busy.discard(actor)
            out.append((actor, result))
        return out

    def close(self) -> None:
        for conn in self.connections:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        for conn in self.connections:
            conn.close()
