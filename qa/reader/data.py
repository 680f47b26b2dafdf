"""Training and held-out examples for the reader, built deterministically.

A ``Group`` is one question with candidate sentences (``PairText``), each
labelled 1 (holds the answer) or 0, and a tier saying how hard a negative is
(0: same paragraph / passage as the answer, 1: same article / document,
2: elsewhere). Training samples a few candidates of each group per pass
(``qa.reader.train``); evaluation reads them all.

Reading comprehension (SQuAD-format files, ``../shared/eval/rc``): each
paragraph is cut into the sentences the answer layer would read
(``qa.text.sentences.candidate_spans``); positives overlap an answer span;
hard negatives are the paragraph's other sentences (those that contain the
answer text are left out: ambiguous); answerability negatives pair the
question with sentences of other paragraphs of its article and of other
articles. Title: the article's; no section path. Neighbours: the sentences
before and after, in the same paragraph. DRCD is traditional Chinese:
converted to simplified (``qa.text.simplify.to_simplified``), answer offsets
re-derived when the conversion changes lengths.

Policy question sets (``policy_sets``): candidates are the sentences of the
question's top BM25 passages over the corpus's chunks (``bm25s`` over
``qa.text.tokenize`` tokens of title + section + text: independent of the
dense model and of the reader), plus for NCP questions the sentences of the
gold document. Positive: holds an evidence string
(``qa.text.fold.holds_evidence``, the answer model's label). Questions the
reports cannot answer (``kind: none``, or a whole set marked unanswerable, as
the NCP questions asked of the seeds) get only negatives. Only fold 0
(``qa.questions.fold``) is trained on; fold 1 is held out everywhere, and the
sets marked ``trained=False`` are never trained on (``Inputs`` refuses them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.ingest.corpus import file_hash
from qa.models import Chunk
from qa.questions import Question, fold, read_questions
from qa.reader.inputs import PairText, chunk_pairs, with_neighbours
from qa.settings import PROJECT_ROOT
from qa.text.fold import holds_evidence
from qa.text.sentences import candidate_spans
from qa.text.simplify import to_simplified

logger = logging.getLogger(__name__)

#: the team's evaluation data beside the checkout: ``rc/`` (reading comprehension), ``ncp/`` (corpus, questions)
SHARED_EVAL = PROJECT_ROOT.parent / "shared" / "eval"
RC_TRAIN = ("cmrc2018_trial.json", "DRCD_dev.json")
RC_HELD_OUT = "DRCD_test.json"
#: question files never trained on: out-of-sample checks
FORBIDDEN = ("colloquial2_", "gov_questions")
#: BM25 passages whose sentences are a policy question's candidates
BM25_TOP = 8
#: negatives from other paragraphs / articles kept per RC question
RC_FAR_NEGATIVES = (3, 2)


@dataclass(frozen=True)
class PolicySet:
    """A policy question set: asked of the seeds or of the NCP corpus."""

    name: str
    path: Path
    corpus: str  # "seeds" or "ncp"
    #: every question is one the corpus cannot answer (another corpus's questions)
    unanswerable: bool = False
    #: fold 0 trained on and fold 1 held out; False: never trained on, both folds held out
    trained: bool = True


def policy_sets(ncp_questions: Path) -> tuple[PolicySet, ...]:
    """Every policy set, in the order training reads them (which fixes the
    data order of a run). The seed sets are the repository's."""
    shipped, tests = PROJECT_ROOT / "qa" / "data", PROJECT_ROOT / "tests" / "data"
    return (
        PolicySet("dev", shipped / "dev_questions.jsonl", "seeds"),
        PolicySet("dev_unanswerable", shipped / "dev_unanswerable.jsonl", "seeds"),
        PolicySet("own", tests / "own_questions.jsonl", "seeds"),
        PolicySet("own_unanswerable", tests / "own_unanswerable.jsonl", "seeds"),
        PolicySet("colloquial", tests / "colloquial_questions.jsonl", "seeds"),
        PolicySet("colloquial_unanswerable", tests / "colloquial_unanswerable.jsonl", "seeds"),
        PolicySet("ncp_cross100", tests / "ncp_cross100.jsonl", "seeds", unanswerable=True),
        PolicySet("ncp", ncp_questions, "ncp"),
        PolicySet("colloquial2", tests / "colloquial2_questions.jsonl", "seeds", trained=False),
        PolicySet("colloquial2_unanswerable", tests / "colloquial2_unanswerable.jsonl", "seeds", trained=False),
    )


def sha256_dir(path: Path) -> str:
    """A folder's digest: its files' relative paths and sha256, sorted."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path)}\0{file_hash(f)}\n".encode())
    return h.hexdigest()


@dataclass
class Candidate:
    pair: PairText
    label: int
    tier: int = 0


@dataclass
class Group:
    qid: str
    source: str
    question: str
    answerable: bool
    cands: list[Candidate] = field(default_factory=list)
    title: str = ""

    @property
    def positives(self) -> int:
        return sum(c.label for c in self.cands)


class Inputs:
    """Every input file a run read, with its sha256 (``reader.json`` records
    them). A training run refuses the out-of-sample sets (``FORBIDDEN``)."""

    def __init__(self, training: bool):
        self.training = training
        self.files: dict[str, str] = {}

    def add(self, path: Path) -> Path:
        path = Path(path)
        if self.training and any(bad in path.name for bad in FORBIDDEN):
            raise ValueError(f"{path} is an out-of-sample check set: never trained on")
        if str(path) not in self.files:
            self.files[str(path)] = sha256_dir(path) if path.is_dir() else file_hash(path)
        return path


# ------------------------------------------------------------------ RC


def paragraph_sentences(context: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of a paragraph's candidate sentences."""
    return [(a, b, context[a:b]) for _, a, b in candidate_spans(context)]


def _simplify_paragraph(context: str, qas: list[dict]) -> tuple[str, list[dict], int]:
    """A traditional paragraph, its questions and answers in simplified
    characters, answer offsets kept right; answers that cannot be placed are
    dropped, and the questions left without one counted.

    >>> text = "臺灣的學校有三種。"
    >>> _simplify_paragraph(text, [{"id": "1", "question": "學校有幾種？",
    ...                             "answers": [{"text": "三種", "answer_start": text.index("三種")}]}])
    ('台湾的学校有三种。', [{'id': '1', 'question': '学校有几种？', 'answers': [{'text': '三种', 'answer_start': 6}]}], 0)
    """
    simple = to_simplified(context)
    lost = 0
    out = []
    for qa in qas:
        answers = []
        for ans in qa["answers"]:
            text = to_simplified(ans["text"])
            start = ans["answer_start"]
            if len(simple) != len(context):
                start = len(to_simplified(context[:start]))
            if simple[start:start + len(text)] != text:
                start = simple.find(text)
                if start < 0:
                    continue
            answers.append({"text": text, "answer_start": start})
        if answers:
            out.append({"id": qa["id"], "question": to_simplified(qa["question"]), "answers": answers})
        else:
            lost += 1
    return simple, out, lost


def load_rc(path: Path, inputs: Inputs) -> list[dict]:
    """Articles as ``{"title", "paragraphs": [{"context", "sentences", "qas"}]}``,
    simplified (DRCD is traditional; its file name says so)."""
    raw = json.loads(inputs.add(path).read_text(encoding="utf-8"))
    traditional = "DRCD" in Path(path).name
    articles, lost = [], 0
    for art in raw["data"]:
        paragraphs = []
        for p in art["paragraphs"]:
            context, qas = p["context"], p["qas"]
            if traditional:
                context, qas, n = _simplify_paragraph(context, qas)
                lost += n
            paragraphs.append({"context": context, "sentences": paragraph_sentences(context), "qas": qas})
        title = art.get("title", "")
        articles.append({"title": to_simplified(title) if traditional else title, "paragraphs": paragraphs})
    if lost:
        logger.info("%s: %d questions whose answer could not be placed after conversion, dropped", path.name, lost)
    return articles


def _answer_spans(qa: dict) -> list[tuple[int, int]]:
    return [(x["answer_start"], x["answer_start"] + len(x["text"])) for x in qa["answers"]]


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < b and a < end for a, b in spans)


def _far_pair(question: str, sentences: list, title: str, rng: random.Random) -> PairText:
    i = rng.randrange(len(sentences))
    return PairText(question, sentences[i][2], title, (), sentences[i - 1][2] if i > 0 else "",
                    sentences[i + 1][2] if i + 1 < len(sentences) else "")


def rc_groups(path: Path, inputs: Inputs, far_negatives: tuple[int, int] = RC_FAR_NEGATIVES,
              seed: int = 13) -> list[Group]:
    """One group per question: the paragraph's sentences (labelled by the
    answer span) and a few sentences of other paragraphs and articles."""
    articles = load_rc(path, inputs)
    groups = []
    source = Path(path).stem
    for a_i, art in enumerate(articles):
        for p_i, para in enumerate(art["paragraphs"]):
            sents = para["sentences"]
            if not sents:
                continue
            pairs = with_neighbours("", [s[2] for s in sents], art["title"])
            for qa in para["qas"]:
                rng = random.Random(f"{seed}:{source}:{qa['id']}")
                spans = _answer_spans(qa)
                texts = {x["text"] for x in qa["answers"]}
                group = Group(str(qa["id"]), source, qa["question"], True)
                for (s, e, text), pair in zip(sents, pairs):
                    pair = replace(pair, question=qa["question"])
                    if _overlaps(s, e, spans):
                        group.cands.append(Candidate(pair, 1, 0))
                    elif not any(t and t in text for t in texts):
                        group.cands.append(Candidate(pair, 0, 0))
                if not group.positives:
                    continue
                # other paragraphs of the article, then other articles
                others = [p for q_i, p in enumerate(art["paragraphs"]) if q_i != p_i and p["sentences"]]
                for other in rng.sample(others, min(len(others), far_negatives[0])):
                    group.cands.append(Candidate(_far_pair(qa["question"], other["sentences"], art["title"], rng), 0, 1))
                for _ in range(far_negatives[1]):
                    b_i = rng.randrange(len(articles))
                    if b_i == a_i or not articles[b_i]["paragraphs"]:
                        continue
                    other = rng.choice(articles[b_i]["paragraphs"])
                    if other["sentences"]:
                        group.cands.append(Candidate(_far_pair(qa["question"], other["sentences"],
                                                               articles[b_i]["title"], rng), 0, 2))
                groups.append(group)
    return groups


def paragraph_groups(path: Path, inputs: Inputs, limit: int | None = 1000, seed: int = 7) -> list[Group]:
    """Held-out RC: every sentence of the question's paragraph (positives
    overlap the answer span, nothing left out), a fixed sample of ``limit``
    questions."""
    groups = []
    for art in load_rc(path, inputs):
        for para in art["paragraphs"]:
            sents = para["sentences"]
            pairs = with_neighbours("", [s[2] for s in sents], art["title"])
            for qa in para["qas"]:
                spans = _answer_spans(qa)
                group = Group(str(qa["id"]), Path(path).stem, qa["question"], True,
                              [Candidate(replace(pair, question=qa["question"]), int(_overlaps(s, e, spans)), 0)
                               for (s, e, _), pair in zip(sents, pairs)], art["title"])
                if group.positives and len(group.cands) > 1:
                    groups.append(group)
    if limit and len(groups) > limit:
        groups = sorted(random.Random(seed).sample(groups, limit), key=lambda g: g.qid)
    return groups


# -------------------------------------------------------------- policy


class Corpus:
    """A corpus's chunks with a BM25 index over them (``qa.text.tokenize``)."""

    def __init__(self, path: Path, inputs: Inputs):
        import bm25s

        from qa.ingest.chunking import chunk_documents
        from qa.ingest.corpus import ingest
        from qa.text.tokenize import tokenize

        self.chunks: list[Chunk] = chunk_documents(ingest(inputs.add(path)).documents)
        self.by_doc: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            self.by_doc.setdefault(Path(c.doc_id).stem, []).append(i)
        corpus_tokens = [tokenize(" ".join([c.title, *c.section, c.text])) or ["_"] for c in self.chunks]
        self.bm25 = bm25s.BM25()
        self.bm25.index(corpus_tokens, show_progress=False)
        self._tokenize = tokenize

    def top(self, question: str, k: int = BM25_TOP) -> list[int]:
        tokens = self._tokenize(question)
        if not tokens:
            return []
        ids, scores = self.bm25.retrieve([tokens], k=min(k, len(self.chunks)), show_progress=False)
        return [int(i) for i, s in zip(ids[0], scores[0]) if s > 0]


def policy_group(q: Question, name: str, corpus: Corpus, unanswerable: bool) -> Group | None:
    """A policy question's candidates: sentences of its top BM25 passages and
    (NCP) of its gold document, deduplicated by text; None when an
    answerable question's candidates hold no evidence."""
    answerable = not unanswerable and q.kind != "none"
    chunk_ids = corpus.top(q.question)
    if answerable and q.doc:
        chunk_ids += [i for i in corpus.by_doc.get(q.doc, []) if i not in chunk_ids]
    seen: set[str] = set()
    rows = []  # (chunk index, pair, label)
    for i in chunk_ids:
        for pair in chunk_pairs(q.question, corpus.chunks[i]):
            if pair.sentence in seen:
                continue
            seen.add(pair.sentence)
            rows.append((i, pair, int(answerable and holds_evidence(pair.sentence, q.evidence))))
    group = Group(q.id, name, q.question, answerable)
    pos_chunks = {i for i, _, label in rows if label}
    pos_docs = {corpus.chunks[i].doc_id for i in pos_chunks}
    for i, pair, label in rows:
        tier = 0 if i in pos_chunks else 1 if corpus.chunks[i].doc_id in pos_docs else 2
        group.cands.append(Candidate(pair, label, tier))
    if not group.cands or (answerable and not group.positives):
        return None
    return group


def read_set(path: Path, inputs: Inputs) -> list[Question]:
    """A question file's questions (``qa.questions``), its digest recorded."""
    questions, problems = read_questions(inputs.add(path), need_relevance=False)
    for problem in problems:
        logger.warning(problem)
    return questions


def policy_groups(inputs: Inputs, sets: tuple[PolicySet, ...], corpora: dict[str, Path],
                  keep_fold: int = 0) -> tuple[list[Group], dict]:
    """Groups of one fold of each set (``corpora``: ``seeds`` and ``ncp``
    folders), and per set counts."""
    loaded: dict[str, Corpus] = {}
    groups, counts = [], {}
    for s in sets:
        if s.corpus not in loaded:
            loaded[s.corpus] = Corpus(corpora[s.corpus], inputs)
        questions = [q for q in read_set(s.path, inputs) if fold(q.id) == keep_fold]
        made = [g for g in (policy_group(q, s.name, loaded[s.corpus], s.unanswerable) for q in questions)
                if g is not None]
        counts[s.name] = {"questions": len(questions), "groups": len(made),
                          "answerable": sum(g.answerable for g in made),
                          "skipped_no_evidence": len(questions) - len(made),
                          "candidates": sum(len(g.cands) for g in made),
                          "positives": sum(g.positives for g in made)}
        groups += made
    return groups, counts


def rc_training_groups(inputs: Inputs, rc_files: list[Path]) -> tuple[list[Group], dict]:
    """Groups of the RC training files, and per file counts."""
    groups, counts = [], {}
    for path in rc_files:
        made = rc_groups(Path(path), inputs)
        counts[Path(path).stem] = {"groups": len(made), "candidates": sum(len(g.cands) for g in made),
                                   "positives": sum(g.positives for g in made)}
        groups += made
    return groups, counts
