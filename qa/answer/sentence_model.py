"""Two small logistic models over ``qa.answer.signals``, fitted with numpy.

- the sentence model: probability that a retrieved sentence holds the answer;
- the found model: probability that the question is answered by the reports
  at all (its best sentence's signals), with the decision threshold.

Their parameters live in ``qa/data/answer_model.json``, a reviewed file that
records which question sets and indexes they were fitted on
(``python -m qa.answer.fit``, docs/answers.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "answer_model.json"


@dataclass
class Logistic:
    """Standardised features -> probability."""

    features: list[str]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float = 0.5

    def prob(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, dtype="float64") - self.mean) / self.std) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def fit(cls, features: list[str], x: np.ndarray, y: np.ndarray, l2: float = 1.0,
            balanced: bool = True, steps: int = 3000) -> "Logistic":
        """Gradient descent on the L2-regularised log loss; with ``balanced``
        each class weighs as much in total, so a small negative set still counts."""
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
        mean, std = x.mean(0), x.std(0) + 1e-6
        xs = (x - mean) / std
        w = np.ones(len(y))
        if balanced and 0 < y.sum() < len(y):
            w = np.where(y > 0, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
        w /= w.sum()
        weights, bias = np.zeros(x.shape[1]), 0.0
        for _ in range(steps):
            p = 1.0 / (1.0 + np.exp(-(xs @ weights + bias)))
            g = w * (p - y)
            weights -= 0.5 * (xs.T @ g + l2 * weights / len(y))
            bias -= 0.5 * g.sum()
        return cls(list(features), mean, std, weights, float(bias))

    def to_dict(self) -> dict:
        return {"features": self.features, "mean": self.mean.round(6).tolist(), "std": self.std.round(6).tolist(),
                "weights": self.weights.round(6).tolist(), "bias": round(self.bias, 6),
                "threshold": round(self.threshold, 4)}

    @classmethod
    def from_dict(cls, d: dict) -> "Logistic":
        return cls(d["features"], np.array(d["mean"]), np.array(d["std"]), np.array(d["weights"]),
                   float(d["bias"]), float(d.get("threshold", 0.5)))


@dataclass
class AnswerModel:
    sentence: Logistic
    found: Logistic
    fitted_on: dict

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "AnswerModel":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(Logistic.from_dict(data["sentence"]), Logistic.from_dict(data["found"]), data.get("fitted_on", {}))

    def save(self, path: Path = MODEL_FILE) -> None:
        data = {"about": __doc__.strip().splitlines()[0], "fitted_on": self.fitted_on,
                "sentence": self.sentence.to_dict(), "found": self.found.to_dict()}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def default_model() -> AnswerModel:
    return AnswerModel.load()
