"""Train the reader (``qa.reader.model``): weights and ``reader.json`` into ``--out``.

    python -m qa.reader.train --out DIR [--layers 4] [--epochs 1] [--lr 5e-5] [--head-lr 5e-4]

Data (``qa.reader.data``): CMRC 2018 trial + DRCD dev (reading
comprehension, simplified) and fold 0 of every policy question set that may
be trained on. Each pass samples, per question, one positive and a few
negatives by tier (same paragraph/passage first, then same article/document,
then elsewhere); policy questions are passed ``--policy-repeat`` times (new
samples each time). Batches hold whole questions of similar length (dynamic
padding). Loss: per-pair binary cross-entropy (the output is a probability)
plus ``--listwise`` times a softmax term over each question's candidates.
AdamW, linear warm-up then linear decay, a fixed number of steps, fixed seeds
and data order: a run reproduces, up to the last bits of some sums when the
thread count changes (``--threads auto``).

``reader.json`` records the command line, seeds, data files and their
sha256, example counts, training time and the machine. The held-out figures
are a separate command, ``python -m qa.evaluation.reader DIR``
(``make reader`` runs both).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.reader import data as D
from qa.reader import model as M
from qa.reader.inputs import Budgets, PairEncoder, load_tokenizer, pad
from qa.settings import Settings

logger = logging.getLogger("qa.reader.train")

#: candidates sampled per question and pass: negatives by tier (0, 1, 2)
RC_NEGATIVES = (4, 1, 1)
POLICY_NEGATIVES = (3, 2, 2)
UNANSWERABLE_NEGATIVES = 7


def machine() -> dict:
    """The CPU (and whether it computes bf16), torch, Python and the load: what a training time depends on."""
    import torch

    cpu, flags = platform.processor(), ""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
        flags = next((line for line in lines if line.startswith("flags")), "")
    except OSError:
        pass
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in flags]
    return {"cpu": cpu, "cores": os.cpu_count(), "isa": isa, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


class Threads:
    """``--threads auto``: two compute threads on a quiet machine, one while
    other processes keep the CPUs busy (two threads waiting on each other
    then lose more than they gain: 1.8k vs 0.8k tokens/s measured at load 8,
    4.6k vs ~2.6k on a quiet machine). Checked every ``every`` steps from
    /proc/stat minus this process's own CPU time. The thread count changes
    no data order or step, only the last bits of some sums."""

    def __init__(self, setting: str, every: int = 20):
        import torch

        self.torch = torch
        self.auto = setting == "auto"
        self.every = every
        self.cores = os.cpu_count() or 2
        self.current = min(2, self.cores) if self.auto else int(setting)
        torch.set_num_threads(self.current)
        self.switches = 0
        self.last = self._sample()

    @staticmethod
    def _sample() -> tuple[int, int, int] | None:
        """(all CPU ticks, idle ticks, this process's ticks)."""
        try:
            cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
            return sum(cpu), cpu[3] + cpu[4], int(own[11]) + int(own[12])
        except (OSError, ValueError, IndexError):
            return None

    def step(self, step: int) -> None:
        if not self.auto or step % self.every:
            return
        now = self._sample()
        if now is None or self.last is None or now[0] <= self.last[0]:
            self.last = now
            return
        total, idle, own = (a - b for a, b in zip(now, self.last))
        self.last = now
        others = (total - idle - own) / (total / self.cores)  # cores other processes kept busy
        want = 1 if others > 0.5 else min(2, self.cores)
        if want != self.current:
            self.torch.set_num_threads(want)
            self.current = want
            self.switches += 1
            logger.info("other processes use %.1f cores: %d compute thread(s)", others, want)


def sample(group: D.Group, rng: random.Random, policy: bool) -> list[int]:
    """Indices of the candidates one pass trains on: one positive, negatives
    by tier (topped up from the other tiers when one runs short); a question
    without an answer gets negatives only."""
    pos = [i for i, c in enumerate(group.cands) if c.label]
    by_tier = {t: [i for i, c in enumerate(group.cands) if not c.label and c.tier == t] for t in (0, 1, 2)}
    if not group.answerable or not pos:
        pool = by_tier[2] + by_tier[1] + by_tier[0]
        return rng.sample(pool, min(len(pool), UNANSWERABLE_NEGATIVES))
    quota = POLICY_NEGATIVES if policy else RC_NEGATIVES
    chosen = [rng.choice(pos)]
    left = []
    for tier, n in zip((0, 1, 2), quota):
        pool = by_tier[tier][:]
        rng.shuffle(pool)
        chosen += pool[:n]
        left += pool[n:]
    short = sum(quota) - (len(chosen) - 1)
    if short > 0 and left:
        chosen += rng.sample(left, min(short, len(left)))
    return chosen


def plan_epoch(groups: list[D.Group], lengths: list[list[int]], policy_flags: list[bool], repeat: int,
               seed: int, epoch: int, batch_pairs: int) -> list[list[tuple[int, list[int]]]]:
    """Batches of one pass: lists of (group, candidate indices), whole
    questions of similar length together, batch order shuffled."""
    rng = random.Random(f"{seed}:epoch:{epoch}")
    items = []
    for g, group in enumerate(groups):
        for _ in range(repeat if policy_flags[g] else 1):
            chosen = sample(group, rng, policy_flags[g])
            if chosen:
                items.append((g, chosen))
    rng.shuffle(items)
    batches = []
    window = batch_pairs * 64  # sort by length inside windows of ~64 batches
    start = 0
    while start < len(items):
        block, pairs = [], 0
        while start < len(items) and pairs < window:
            block.append(items[start])
            pairs += len(items[start][1])
            start += 1
        block.sort(key=lambda it: max(lengths[it[0]][i] for i in it[1]))
        current, n = [], 0
        for it in block:
            if current and n + len(it[1]) > batch_pairs:
                batches.append(current)
                current, n = [], 0
            current.append(it)
            n += len(it[1])
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def plan(groups: list[D.Group], lengths: list[list[int]], policy_flags: list[bool],
         args: argparse.Namespace) -> list[list[tuple[int, list[int]]]]:
    """Every pass planned up front (fixed steps, fixed order); a fractional
    ``--epochs`` keeps that share of the last pass's batches."""
    batches = []
    passes = math.ceil(args.epochs)
    for epoch in range(passes):
        more = plan_epoch(groups, lengths, policy_flags, args.policy_repeat, args.seed, epoch, args.batch_pairs)
        if epoch == passes - 1 and args.epochs < passes:
            more = more[:max(1, round(len(more) * (args.epochs - epoch)))]
        batches += more
    return batches


def loss_fn(logits, labels, group_index, weights, listwise: float):
    """(loss, its cross-entropy part, its listwise part) of one batch."""
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    loss = (bce * weights).sum() / weights.sum()
    lw = torch.zeros((), dtype=logits.dtype)
    if listwise:
        terms = []
        for g in torch.unique(group_index):
            sel = group_index == g
            lab = labels[sel]
            if lab.sum() == 0 or lab.sum() == lab.numel():
                continue
            lg = logits[sel]
            terms.append((torch.logsumexp(lg, 0) - torch.logsumexp(lg[lab > 0], 0)) * weights[sel][0])
        if terms:
            lw = torch.stack(terms).mean()
            loss = loss + listwise * lw
    return loss, bce.mean().detach(), lw.detach()


@dataclass
class Run:
    """What a training run did: steps, the loss of each step, pairs and tokens seen, seconds."""

    steps: int = 0
    warmup: int = 0
    losses: list[float] = field(default_factory=list)
    pairs: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    seconds: float = 0.0


def optimizer_for(net, args: argparse.Namespace):
    """AdamW: the layers at ``--lr`` (no decay on biases and norms), the head at ``--head-lr``."""
    import torch

    decay, no_decay, head = [], [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        (head if name.startswith("head.") else no_decay if p.ndim < 2 else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "lr": args.lr, "weight_decay": args.weight_decay},
                              {"params": no_decay, "lr": args.lr, "weight_decay": 0.0},
                              {"params": head, "lr": args.head_lr, "weight_decay": args.weight_decay}])


def fit(net, groups: list[D.Group], ids: list[list[list[int]]], policy_flags: list[bool],
        args: argparse.Namespace, threads: Threads | None = None, bf16: bool = False) -> Run:
    """Train ``net`` in place on ``groups`` (``ids``: each candidate's token ids)."""
    import torch
    from tqdm import tqdm

    batches = plan(groups, [[len(r) for r in rows] for rows in ids], policy_flags, args)
    run = Run(steps=len(batches), warmup=max(1, int(len(batches) * args.warmup)))
    optimizer = optimizer_for(net, args)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / run.warmup if s < run.warmup
        else max(0.0, (run.steps - s) / max(1, run.steps - run.warmup)))
    logger.info("training %d steps, warm-up %d, bf16 autocast %s", run.steps, run.warmup, bf16)
    net.train()
    started = time.perf_counter()
    log_every = max(1, run.steps // 40)
    window: list[tuple[float, float, float]] = []  # (loss, bce, listwise) of the steps since the last log line
    for step, batch in enumerate(tqdm(batches, desc="train", mininterval=10, disable=None)):
        rows, labels, gidx, weights = [], [], [], []
        for k, (g, chosen) in enumerate(batch):
            for i in chosen:
                rows.append(ids[g][i])
                labels.append(float(groups[g].cands[i].label))
                gidx.append(k)
                weights.append(args.policy_weight if policy_flags[g] else 1.0)
        x, mask = pad(rows, multiple=8)
        run.tokens += int(mask.sum())
        run.padded_tokens += mask.size
        run.pairs += len(rows)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = net(torch.from_numpy(x), torch.from_numpy(mask))
        loss, bce, lw = loss_fn(logits.float(), torch.tensor(labels), torch.tensor(gidx), torch.tensor(weights),
                                args.listwise)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if threads is not None:
            threads.step(step + 1)
        run.losses.append(float(loss.detach()))
        window.append((run.losses[-1], float(bce), float(lw)))
        if (step + 1) % log_every == 0 or step + 1 == run.steps:
            spent = time.perf_counter() - started
            mean = np.mean(window, axis=0)
            window = []
            logger.info("step %d/%d loss %.4f (bce %.4f, listwise %.4f) lr %.2e | %.0f tokens/s (%.0f padded) "
                        "%.1f pairs/s", step + 1, run.steps, *mean, schedule.get_last_lr()[0], run.tokens / spent,
                        run.padded_tokens / spent, run.pairs / spent)
    run.seconds = time.perf_counter() - started
    net.eval()
    return run


def parser() -> argparse.ArgumentParser:
    settings = Settings.from_env()
    p = argparse.ArgumentParser(prog="python -m qa.reader.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder for reader.safetensors, reader.json, train.log")
    p.add_argument("--layers", type=int, default=4, help="transformer layers of the base kept and trained")
    p.add_argument("--head", default="mlp", choices=M.HEADS)
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the training questions (may be fractional)")
    p.add_argument("--batch-pairs", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5, help="learning rate of the transformer layers")
    p.add_argument("--head-lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.06, help="share of the steps warming up")
    p.add_argument("--listwise", type=float, default=0.0, help="weight of the per-question softmax term")
    p.add_argument("--policy-repeat", type=int, default=3, help="passes over the policy questions per epoch")
    p.add_argument("--policy-weight", type=float, default=1.0, help="loss weight of policy pairs")
    p.add_argument("--no-policy", action="store_true", help="train on reading comprehension only")
    p.add_argument("--budgets", default="40,32,80,24", help="question,context,sentence,neighbour tokens")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", default="auto", help="compute threads, or auto (2, 1 while the machine is busy)")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "f32"),
                   help="training compute: bf16 autocast where the CPU has AVX512-BF16 (auto), or f32")
    p.add_argument("--shared", type=Path, default=D.SHARED_EVAL,
                   help="the team's evaluation data: rc/ (reading comprehension), ncp/corpus, ncp/dev_questions.jsonl "
                        "(default: ../shared/eval beside the checkout)")
    p.add_argument("--rc-train", type=Path, action="append",
                   help="SQuAD-format training file (repeatable; default CMRC 2018 trial + DRCD dev in SHARED/rc)")
    p.add_argument("--seeds-corpus", type=Path, default=settings.corpus,
                   help="the seed reports the seed question sets ask of (default: the corpus setting, QA_CORPUS)")
    return p


def training_data(args: argparse.Namespace, inputs: D.Inputs) -> tuple[list[D.Group], list[bool], dict]:
    """(groups, which are policy questions, counts): the RC files, then fold 0 of the policy sets."""
    rc_files = args.rc_train or [args.shared / "rc" / name for name in D.RC_TRAIN]
    rc, counts = D.rc_training_groups(inputs, rc_files)
    policy: list[D.Group] = []
    if not args.no_policy:
        sets = tuple(s for s in D.policy_sets(args.shared / "ncp" / "dev_questions.jsonl") if s.trained)
        policy, policy_counts = D.policy_groups(inputs, sets, {"seeds": args.seeds_corpus,
                                                               "ncp": args.shared / "ncp" / "corpus"})
        counts.update(policy_counts)
    counts.update({"rc_questions": len(rc), "policy_questions": len(policy),
                   "candidate_pairs": sum(len(g.cands) for g in rc + policy)})
    return rc + policy, [False] * len(rc) + [True] * len(policy), counts


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(args.out / "train.log")])
    for noisy in ("httpx", "jieba", "transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()

    import torch

    threads = Threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    budgets = Budgets(*[int(x) for x in args.budgets.split(",")])
    bf16 = args.precision == "bf16" or (args.precision == "auto" and "avx512_bf16" in machine()["isa"])

    inputs = D.Inputs(training=True)
    groups, policy_flags, counts = training_data(args, inputs)
    base = M.base_path()
    encoder = PairEncoder(load_tokenizer(base), budgets)
    ids = [encoder.ids([c.pair for c in group.cands]) for group in groups]
    data_seconds = time.perf_counter() - started
    logger.info("data: %d RC questions, %d policy questions, %d candidate pairs (%.1f s)", counts["rc_questions"],
                counts["policy_questions"], counts["candidate_pairs"], data_seconds)

    net = M.build_net(args.layers, args.head, path=base)
    logger.info("%d layers, %.1fM trainable parameters", args.layers,
                sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6)
    run = fit(net, groups, ids, policy_flags, args, threads, bf16)

    meta = {
        "layers": args.layers, "head": args.head, "budgets": budgets.to_dict(), "base": M.base_identity(base),
        "input_format": "<s> query: Q </s></s> title > path : sentence </s> previous </s> next </s>",
        "training": {
            "command": " ".join(["python", "-m", "qa.reader.train", *(argv if argv is not None else sys.argv[1:])]),
            "args": json.loads(json.dumps(vars(args), default=str)),
            "seeds": {"seed": args.seed, "sampling": "random.Random(f'{seed}:epoch:{epoch}')",
                      "rc_far_negatives": "random.Random(f'13:{source}:{qid}')"},
            "bf16_autocast": bf16,
            "data_files": dict(inputs.files),
            "counts": {**counts, "steps": run.steps, "pairs_trained": run.pairs, "tokens_trained": run.tokens},
            "sampling": {"rc_negatives_by_tier": RC_NEGATIVES, "policy_negatives_by_tier": POLICY_NEGATIVES,
                         "unanswerable_negatives": UNANSWERABLE_NEGATIVES, "policy_repeat": args.policy_repeat},
            "data_seconds": round(data_seconds, 1), "train_seconds": round(run.seconds, 1),
            "threads": args.threads, "thread_switches": threads.switches,
            "train_tokens_per_second": round(run.tokens / max(run.seconds, 1e-9)), "machine": machine(),
            "wall_seconds": round(time.perf_counter() - started, 1),
        },
    }
    meta = M.save(net, args.out, meta)
    logger.info("saved %s (%.1f MB) in %.1f s: %s", args.out / M.WEIGHTS_FILE, meta["weights_bytes"] / 2**20,
                meta["training"]["wall_seconds"], args.out / M.META_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
