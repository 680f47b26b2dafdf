"""The retrieval evaluation harness (qa/evaluation/).

The metric layer is checked on hand-made rankings with known answers, so it
needs no model; one slow end-to-end test runs the real CLI on the dev set and
checks its R@5 / MRR@10 against the official scorer (vendored verbatim in
tests/vendor/score.py, origin in tests/vendor/README.md).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main as qa_main
from qa.evaluation.metrics import evaluate_rankings
from qa.evaluation.relevance import NO_RELEVANT, build_qrels, to_run
from qa.evaluation.report import write_trec_qrels, write_trec_run
from qa.evaluation.runner import Config, make_configs
from qa.text.fold import evidence_form as normalize_evidence
from qa.questions import Question, read_questions
from qa.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SCORE_PY = ROOT / "tests" / "vendor" / "score.py"
DEV = ROOT / "qa" / "data" / "dev_questions.jsonl"


def hit(text: str, chunk_id: str, doc_id: str = "doc", title: str = "T", section: list[str] | None = None,
        rank: int = 0) -> dict:
    return {"rank": rank, "score": 0.0, "chunk_id": chunk_id, "doc_id": doc_id, "title": title,
            "section": section or [], "source": f"{doc_id}.txt", "start": 0, "end": len(text), "text": text}


def ranked(*hits: dict) -> list[dict]:
    return [{**h, "rank": i} for i, h in enumerate(hits, 1)]


FILLER = [hit(f"无关段落{i}", f"x{i}") for i in range(12)]


def q(qid: str, evidence: list[str] | None = None, relevant: list[str] | None = None, kind: str = "fact") -> Question:
    return Question(qid, f"问题{qid}?", evidence or [], relevant or [], kind)


# --- metrics on known rankings -------------------------------------------------------

def test_mrr_and_recall_hit_semantics():
    questions = [q("first", ["答案一"]), q("second", ["答案二"]), q("fourth", ["答案四"]), q("absent", ["没有"])]
    rankings = {
        "first": ranked(hit("这里有答案一。", "a1"), *FILLER[:9]),
        "second": ranked(FILLER[0], hit("答案二在此", "a2"), *FILLER[1:9]),
        "fourth": ranked(*FILLER[:3], hit("答案四", "a4"), *FILLER[3:9]),
        "absent": ranked(*FILLER[:10]),
    }
    m = evaluate_rankings(questions, rankings)
    by_id = {r.id: r for r in m.questions}
    assert [by_id[i].scores["MRR@10"] for i in ("first", "second", "fourth", "absent")] == pytest.approx([1, 0.5, 0.25, 0])
    assert [by_id[i].first_relevant for i in ("first", "second", "fourth", "absent")] == [1, 2, 4, None]
    # Recall@k is the hit rate: 1 as soon as one relevant passage is in the top k
    assert by_id["second"].scores["R@1"] == 0 and by_id["second"].scores["R@3"] == 1
    assert by_id["fourth"].scores["R@3"] == 0 and by_id["fourth"].scores["R@5"] == 1
    assert m.overall["R@1"] == pytest.approx(1 / 4)
    assert m.overall["R@3"] == pytest.approx(2 / 4)
    assert m.overall["R@5"] == m.overall["R@10"] == pytest.approx(3 / 4)
    assert m.overall["MRR@10"] == pytest.approx((1 + 0.5 + 0.25) / 4)
    # worst first: the miss, then the lowest found rank
    assert [r.id for r in m.questions] == ["absent", "fourth", "second", "first"]
    assert m.questions[0].returned[0] == {"rank": 1, "title": "T", "section": "", "text": "无关段落0"}


def test_rank_beyond_10_is_a_miss_and_hit_rate_ignores_extra_relevant_passages():
    questions = [q("deep", ["深处"]), q("two", ["两处"])]
    rankings = {
        "deep": ranked(*FILLER[:10], hit("深处的答案", "d1")),  # rank 11
        "two": ranked(hit("两处之一", "t1"), FILLER[0], hit("两处之二", "t2")),
    }
    m = evaluate_rankings(questions, rankings)
    by_id = {r.id: r for r in m.questions}
    assert by_id["deep"].first_relevant is None and by_id["deep"].scores["R@10"] == 0
    assert by_id["deep"].scores["MRR@10"] == 0
    assert by_id["two"].scores["R@1"] == 1  # a hit rate, not 1/2 of the relevant passages


def test_ndcg_known_values():
    questions = [q("one", ["甲"]), q("two", ["乙"])]
    rankings = {
        "one": ranked(FILLER[0], hit("甲", "j1")),                       # single relevant at rank 2
        "two": ranked(hit("乙一", "y1"), FILLER[0], hit("乙二", "y2")),  # relevant at 1 and 3 of 2 relevant
    }
    m = evaluate_rankings(questions, rankings)
    by_id = {r.id: r for r in m.questions}
    assert by_id["one"].scores["nDCG@10"] == pytest.approx(1 / math.log2(3))
    ideal = 1 + 1 / math.log2(3)
    assert by_id["two"].scores["nDCG@10"] == pytest.approx((1 + 1 / math.log2(4)) / ideal)


def test_pooled_qrels_make_ndcg_comparable_across_configs():
    """A relevant passage found only by another config lowers this config's
    nDCG (it is in the ideal ranking) but not its hit rate or MRR."""
    questions = [q("p", ["证据"])]
    alone = {"p": ranked(hit("证据A", "e1"), *FILLER[:3])}
    other = {"p": ranked(hit("证据B", "e2"))}
    qrels = build_qrels(questions, [alone, other])
    assert qrels == {"p": {"e1": 1, "e2": 1}}
    pooled = evaluate_rankings(questions, alone, qrels)
    own = evaluate_rankings(questions, alone)
    assert own.overall["nDCG@10"] == pytest.approx(1.0)
    assert pooled.overall["nDCG@10"] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert pooled.overall["MRR@10"] == own.overall["MRR@10"] == 1.0


def test_per_kind_grouping():
    questions = [q("f1", ["一"], kind="fact"), q("f2", ["二"], kind="fact"), q("e1", ["三"], kind="english")]
    rankings = {
        "f1": ranked(hit("一", "c1")),
        "f2": ranked(FILLER[0], hit("二", "c2")),
        "e1": ranked(FILLER[0]),
    }
    m = evaluate_rankings(questions, rankings)
    assert m.kind_counts == {"english": 1, "fact": 2}
    assert m.by_kind["fact"]["MRR@10"] == pytest.approx(0.75)
    assert m.by_kind["fact"]["R@1"] == pytest.approx(0.5)
    assert m.by_kind["english"]["R@10"] == 0
    assert m.overall["MRR@10"] == pytest.approx(0.5)


def test_evidence_normalization_matches_scorer_rules():
    # traditional -> simplified, pinyin annotations and whitespace removed on both sides
    assert normalize_evidence("學(xué)校 教 師\n") == "学校教师"
    questions = [q("t", ["學校 教師"])]
    m = evaluate_rankings(questions, {"t": ranked(FILLER[0], hit("加强学(xué)校\n教师队伍", "c"))})
    assert m.questions[0].first_relevant == 2


def test_questions_without_rankings_count_as_misses():
    questions = [q("a", ["甲"]), q("b", ["乙"])]
    m = evaluate_rankings(questions, {"a": ranked(hit("甲", "c1"))})
    assert m.n == 2 and m.overall["R@5"] == pytest.approx(0.5)
    assert build_qrels(questions, [{}])["b"] == {NO_RELEVANT: 1}


# --- id-based relevance -------------------------------------------------------------------

def test_relevant_chunk_and_doc_ids():
    questions = [
        q("by_chunk", relevant=["c7"]),
        q("by_doc", relevant=["report-2012"]),
        q("unretrieved", relevant=["c1", "never-seen"]),
    ]
    rankings = {
        "by_chunk": ranked(FILLER[0], FILLER[1], hit("任意文字", "c7")),
        "by_doc": ranked(FILLER[0], hit("别的", "c9", doc_id="report-2012"), hit("也是", "c10", doc_id="report-2012")),
        "unretrieved": ranked(hit("第一", "c1")),
    }
    m = evaluate_rankings(questions, rankings)
    by_id = {r.id: r for r in m.questions}
    assert by_id["by_chunk"].scores["MRR@10"] == pytest.approx(1 / 3)
    assert by_id["by_doc"].first_relevant == 2
    # both chunks of the document are relevant; the doc id itself is not a phantom qrels entry
    qrels = build_qrels(questions, [rankings])
    assert qrels["by_doc"] == {"c9": 1, "c10": 1}
    # a listed id nobody retrieved stays relevant, so the ideal ranking has two items
    assert qrels["unretrieved"] == {"c1": 1, "never-seen": 1}
    assert by_id["unretrieved"].scores["nDCG@10"] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert by_id["unretrieved"].scores["R@1"] == 1


# --- files and configs ----------------------------------------------------------------------

def test_trec_files_reproduce_the_metrics_with_ranx(tmp_path):
    from ranx import Qrels, Run, evaluate

    questions = [q("a", ["甲"]), q("b", ["乙"]), q("c", ["丙"])]
    rankings = {"a": ranked(FILLER[0], hit("甲", "c1")), "b": ranked(hit("乙", "c2"), hit("乙乙", "c3")), "c": []}
    qrels = build_qrels(questions, [rankings])
    m = evaluate_rankings(questions, rankings, qrels)
    write_trec_qrels(qrels, tmp_path / "qrels.txt")
    write_trec_run(to_run(questions, rankings), tmp_path / "run.txt", "test")
    assert (tmp_path / "run.txt").read_text().splitlines()[0] == "a Q0 x0 1 1.000000 test"
    means = evaluate(Qrels.from_file(str(tmp_path / "qrels.txt"), kind="trec"),
                     Run.from_file(str(tmp_path / "run.txt"), kind="trec"),
                     ["hit_rate@1", "mrr@10", "ndcg@10"], make_comparable=True)
    assert means["hit_rate@1"] == pytest.approx(m.overall["R@1"])
    assert means["mrr@10"] == pytest.approx(m.overall["MRR@10"])
    assert means["ndcg@10"] == pytest.approx(m.overall["nDCG@10"])


def test_make_configs():
    configs = make_configs(["bm25", "dense", "hybrid"], [0.3, 0.5], [30, 60])
    names = [c.name for c in configs]
    # the dense weight only varies hybrid; candidates vary every mode
    assert names == ["bm25-c30", "bm25-c60", "dense-c30", "dense-c60",
                     "hybrid-dw0.3-c30", "hybrid-dw0.3-c60", "hybrid-dw0.5-c30", "hybrid-dw0.5-c60"]
    assert configs[4] == Config("hybrid-dw0.3-c30", "hybrid", 0.3, 30)
    assert [c.name for c in make_configs(["hybrid", "bm25"], [0.3])] == ["hybrid", "bm25"]
    with pytest.raises(ValueError, match="unknown mode"):
        make_configs(["bm25", "sparse"])


def test_agrees_with_official_scorer_on_hand_made_run(tmp_path):
    """score.py and evaluate_rankings on the same run file give the same R@5 and MRR@10."""
    questions = [q("a", ["教師培訓"]), q("b", ["乙"], kind="english"), q("c", ["丙"]), q("d", ["丁"])]
    rankings = {
        "a": ranked(FILLER[0], hit("加强教(jiào)师\n培训", "c1")),
        "b": ranked(*FILLER[:6], hit("乙", "c2")),
        "c": ranked(*FILLER[:4], hit("丙", "c3")),
        "d": [],
    }
    qfile, rfile = tmp_path / "q.jsonl", tmp_path / "run.jsonl"
    qfile.write_text("".join(json.dumps({"id": x.id, "question": x.question, "evidence": x.evidence, "kind": x.kind},
                                        ensure_ascii=False) + "\n" for x in questions), encoding="utf-8")
    rfile.write_text("".join(json.dumps({"id": k, "query": "", "results": v}, ensure_ascii=False) + "\n"
                             for k, v in rankings.items()), encoding="utf-8")
    r5, mrr = _official(qfile, rfile)
    m = evaluate_rankings(questions, rankings)
    assert (round(m.overall["R@5"], 3), round(m.overall["MRR@10"], 3)) == (r5, mrr) == (0.5, round((0.5 + 1 / 7 + 0.2) / 4, 3))


def test_doc_match_counts_a_passage_published_in_the_gold_document_like_score_py(tmp_path):
    """--doc-match: the gold document may be the passage's source or one of the
    documents that publish it too (``also_in``), in ``qa eval`` as in score.py."""
    questions = [Question("a", "甲?", ["甲"], [], "ncp", "gold"), Question("b", "乙?", ["乙"], [], "ncp", "gold")]
    rankings = {
        "a": ranked({**hit("甲", "c1", doc_id="copy"), "also_in": ["other.txt", "gold.txt"]}),
        "b": ranked({**hit("乙", "c2", doc_id="copy"), "also_in": ["other.txt"]}, hit("乙", "c3", doc_id="gold")),
    }
    qfile, rfile = tmp_path / "q.jsonl", tmp_path / "run.jsonl"
    qfile.write_text("".join(json.dumps({"id": x.id, "question": x.question, "evidence": x.evidence, "kind": x.kind,
                                         "doc": x.doc}, ensure_ascii=False) + "\n" for x in questions), encoding="utf-8")
    rfile.write_text("".join(json.dumps({"id": k, "query": "", "results": v}, ensure_ascii=False) + "\n"
                             for k, v in rankings.items()), encoding="utf-8")
    r5, mrr = _official(qfile, rfile, "--doc-match")
    m = evaluate_rankings(questions, rankings, doc_match=True)
    assert (round(m.overall["R@5"], 3), round(m.overall["MRR@10"], 3)) == (r5, mrr) == (1.0, 0.75)


def _official(questions: Path, run: Path, *flags: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, str(SCORE_PY), str(questions), str(run), *flags],
                         capture_output=True, text=True, timeout=120)
    last = out.stdout.strip().splitlines()[-1]
    match = re.search(r"R@5=([\d.]+) MRR@10=([\d.]+)", last)
    assert match, out.stdout + out.stderr
    return float(match.group(1)), float(match.group(2))


# --- bad question lines ------------------------------------------------------------------------

BAD_SET = "\n".join([
    '{"id": "ok1", "question": "甲是什么?", "evidence": ["甲"], "kind": "fact"}',
    '{"id": "broken", "question": "no closing brace"',
    '{"id": "noq", "evidence": ["乙"]}',
    '{"question": "没有id", "evidence": ["乙"]}',
    '{"id": "ok1", "question": "重复的id", "evidence": ["丙"]}',
    '{"id": "norel", "question": "没有证据"}',
    '',
    '{"id": "ok2", "question": "乙是什么?", "relevant": ["c2"], "kind": "english"}',
]) + "\n"


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_evaluated(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text(BAD_SET, encoding="utf-8")
    questions, problems = read_questions(path)
    assert [x.id for x in questions] == ["ok1", "ok2"]
    assert len(problems) == 5
    for lineno, reason in [(2, "not valid JSON"), (3, "missing field 'question'"), (4, "missing field 'id'"),
                           (5, "duplicate id 'ok1'"), (6, "needs 'evidence' or 'relevant'")]:
        assert any(p.startswith(f"{path}:{lineno}: ") and reason in p for p in problems), (lineno, problems)
    m = evaluate_rankings(questions, {"ok1": ranked(hit("甲", "c1")), "ok2": ranked(FILLER[0], hit("x", "c2"))})
    assert m.n == 2 and m.overall["MRR@10"] == pytest.approx(0.75)


def test_cli_prints_bad_lines_as_warnings(tmp_path, capsys):
    """Only bad lines: every one is a warning on stderr and the run stops before loading the model."""
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1\n{"id": "x"}\n', encoding="utf-8")
    assert qa_main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"warning: {path}:1: not valid JSON" in err
    assert f"warning: {path}:2: missing field 'question'" in err
    assert "error: no usable questions" in err
    assert qa_main(["eval", str(path), "--mode", "bm25,sparse"]) == 2
    assert "unknown mode 'sparse'" in capsys.readouterr().err


# --- end to end ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_eval_cli_end_to_end_matches_official_scorer(tmp_path, built_index):
    report = tmp_path / "report"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "qa", "eval",
         str(DEV), "--mode", "bm25,hybrid", "--report", str(report), "--index", str(built_index[0].index)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = out.stdout.splitlines()
    assert table[0].split()[:7] == ["config", "R@1", "R@3", "R@5", "R@10", "MRR@10", "nDCG@10"]
    assert [line.split()[0] for line in table[2:4]] == ["bm25", "hybrid"]

    for name in ("report.json", "report.md", "qrels.txt", "run-bm25.txt", "run-hybrid.txt", "run-hybrid.jsonl"):
        assert (report / name).stat().st_size > 0, name
    assert (report / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    configs = {c["name"]: c for c in data["configs"]}
    assert set(configs) == {"bm25", "hybrid"}
    n = sum(1 for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip())
    assert configs["hybrid"]["n"] == n
    assert configs["hybrid"]["settings"]["dense_weight"] == Settings().dense_weight
    assert set(configs["hybrid"]["overall"]) == {"R@1", "R@3", "R@5", "R@10", "MRR@10", "nDCG@10"}
    assert sum(k["n"] for k in configs["hybrid"]["by_kind"].values()) == n
    meta = data["meta"]
    assert re.fullmatch(r"[0-9a-f]{16}", meta["index_manifest_hash"])
    assert meta["model"] and meta["timestamp"] and meta["git_commit"]
    import hashlib
    assert meta["questions_sha256"] == hashlib.sha256(DEV.read_bytes()).hexdigest()
    assert "## hybrid: per question, worst first" in (report / "report.md").read_text(encoding="utf-8")

    for name in ("hybrid", "bm25"):
        r5, mrr = _official(DEV, report / f"run-{name}.jsonl")
        overall = configs[name]["overall"]
        # the scorer prints 3 decimals: equal up to its rounding (sums in another order can straddle a .0005)
        assert abs(overall["R@5"] - r5) <= 0.0006 and abs(overall["MRR@10"] - mrr) <= 0.0006, (name, overall, r5, mrr)
    # how good these figures must be is the quality gates' job (tests/test_quality_gates.py, the committed results)


@pytest.mark.slow
def test_eval_doc_match_on_the_ncp_sample_scores_like_score_py(ncp_sample_index, tmp_path, capsys):
    """``qa eval --doc-match`` on NCP questions (each names its document): the
    figures equal ``score.py --doc-match`` on the run the command wrote, and
    the flag counts only passages of the gold document (or republishing it),
    so it can only lower what evidence alone finds."""
    from conftest import NCP_SAMPLE

    questions = NCP_SAMPLE / "dev_questions.jsonl"
    index = str(ncp_sample_index[0].index)
    figures = {}
    for flags in ([], ["--doc-match"]):
        report = tmp_path / ("doc" if flags else "any")
        assert qa_main(["eval", str(questions), "--mode", "hybrid", "--json", "--report", str(report),
                        "--index", index, *flags]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["meta"]["doc_match"] is bool(flags)
        overall = data["configs"][0]["overall"]
        r5, mrr = _official(questions, report / "run-hybrid.jsonl", *flags)
        assert abs(overall["R@5"] - r5) <= 0.0006 and abs(overall["MRR@10"] - mrr) <= 0.0006, (flags, overall, r5, mrr)
        figures[bool(flags)] = overall
    assert figures[True]["R@5"] <= figures[False]["R@5"] and figures[True]["MRR@10"] <= figures[False]["MRR@10"]
    assert data["configs"][0]["n"] == 102


@pytest.mark.slow
def test_eval_answers_scores_what_ask_answers_follow_ups_included(built_index, tmp_path, capsys):
    """``qa eval --answers`` scores ``Assistant.ask`` as a user gets it: the
    same figures as ``score_answers.py`` on ``qa ask --batch`` for the dev and
    unanswerable sets, and a question line's optional ``history`` is the
    conversation before it (a follow-up answered only with it)."""
    index = str(built_index[0].index)
    plain = tmp_path / "plain.jsonl"
    plain.write_text(DEV.read_text(encoding="utf-8")
                     + (DEV.parent / "dev_unanswerable.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    assert qa_main(["eval", str(plain), "--answers", "--json", "--index", index]) == 0
    totals = {r["kind"]: r for r in json.loads(capsys.readouterr().out)["by_kind"]}["all"]
    assert qa_main(["ask", "--batch", str(plain), "--json", "--index", index]) == 0
    (tmp_path / "run.jsonl").write_text(capsys.readouterr().out, encoding="utf-8")
    scored = subprocess.run([sys.executable, str(ROOT / "tests" / "vendor" / "score_answers.py"), str(plain),
                             str(tmp_path / "run.jsonl")], capture_output=True, text=True, timeout=120)
    acc, n_ans, dec, n_none = re.search(r"answered with evidence ([\d.]+) \(n=(\d+)\), declined when not in the "
                                        r"reports ([\d.]+) \(n=(\d+)\)", scored.stdout).groups()
    assert (totals["answered_with_evidence"], totals["declined"]) == (float(acc), float(dec)), (totals, scored.stdout)
    assert totals["questions"] == int(n_ans) + int(n_none) == 38

    # asked alone, "第三条呢？" is declined (no words of a topic); after the teacher-exchange question it is its third measure
    follow_up = {"id": "f1", "question": "第三条呢？", "evidence": ["特级教师评选、评先选优挂钩"], "kind": "list"}
    lines = tmp_path / "follow.jsonl"
    for history, answered in ((["教师交流的主要措施有哪些？"], 1.0), (None, 0.0)):
        lines.write_text(json.dumps({**follow_up, **({"history": history} if history else {})}, ensure_ascii=False)
                         + "\n", encoding="utf-8")
        assert qa_main(["eval", str(lines), "--answers", "--json", "--index", index]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["missed"] == ([] if answered else ["f1"])
        assert {r["kind"]: r for r in result["by_kind"]}["list"]["answered_with_evidence"] == answered, history
