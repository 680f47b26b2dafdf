"""``python -m qa``: a thin command line over the package.

Every subcommand builds one ``Settings`` (env, then flags) and calls the same
functions the app uses. ``--json`` outputs are interfaces for scripts: their
fields are only ever added, never renamed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from qa.settings import Settings

logger = logging.getLogger("qa")


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        corpus=getattr(args, "corpus", None),
        index=getattr(args, "index", None),
        model=getattr(args, "model", None),
        mode=getattr(args, "mode", None) if getattr(args, "mode", None) in ("bm25", "dense", "hybrid") else None,
        chunk_chars=getattr(args, "chunk_chars", None),
        backend=getattr(args, "backend", None),
        milvus_uri=getattr(args, "milvus_uri", None),
        milvus_collection=getattr(args, "milvus_collection", None),
    )


# --- chunks -----------------------------------------------------------------

def cmd_chunks(args: argparse.Namespace, settings: Settings) -> int:
    from qa.ingest.chunking import chunk_documents
    from qa.ingest.corpus import ingest

    result = ingest(settings.corpus)
    if args.dropped:
        for d in result.dropped:
            if args.json:
                _emit({"source": d.source, "rule": d.rule, "line": d.line}
                      | ({"replacement": d.replacement} if d.replacement is not None else {}))
            else:
                print(f"{d.source}\t{d.rule}\t{d.line}" + (f"\t→ {d.replacement}" if d.replacement is not None else ""))
        return _report_errors(result.errors)
    chunks = chunk_documents(result.documents, settings.chunking)
    if args.json:
        for chunk in chunks:
            _emit({k: v for k, v in chunk.to_dict().items() if k != "meta"} | {"meta": chunk.meta})
    else:
        by_doc: dict[str, list] = {}
        for chunk in chunks:
            by_doc.setdefault(chunk.doc_id, []).append(chunk)
        for doc in result.documents:
            doc_chunks = by_doc.get(doc.doc_id, [])
            print(f"{doc.doc_id}  《{doc.title}》  {len(doc.text)} chars, {len(doc_chunks)} chunks")
            last: list[str] = []
            for chunk in doc_chunks:
                for depth, heading in enumerate(chunk.section):
                    if last[:depth + 1] != chunk.section[:depth + 1]:
                        print("    " + "  " * depth + heading)
                last = chunk.section
        print(f"{len(result.documents)} documents, {len(chunks)} chunks, {len(result.errors)} files skipped")
        print(_dropped_summary(result.dropped_by_rule()))
    return _report_errors(result.errors)


def _dropped_summary(counts: dict[str, int]) -> str:
    detail = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
    lines = sum(n for rule, n in counts.items() if not rule.endswith("_mojibake"))
    runs = sum(n for rule, n in counts.items() if rule.endswith("_mojibake"))
    return (f"cleaning dropped {lines} lines" + (f" and repaired or cut {runs} mojibake runs" if runs else "")
            + (f" ({detail}; list them: qa chunks --dropped)" if detail else ""))


def _report_errors(errors: list) -> int:
    for error in errors:
        print(f"warning: skipped {error}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} warning(s)", file=sys.stderr)
    return 0


# --- build ------------------------------------------------------------------

def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from qa.index.build import build

    if not settings.corpus.is_dir():
        print(f"error: corpus directory {settings.corpus} does not exist", file=sys.stderr)
        return 2
    from qa.index.estimate import duration, estimate, record

    expected, chars, line = estimate(settings, args.rebuild) if not args.json else (0.0, 0, "")
    if line:  # before the long part: how long it will take, and from which measured rate
        print(line, flush=True)
    started = time.perf_counter()
    report = build(settings, rebuild=args.rebuild, show_progress=not args.json)
    if report.touched and chars:
        record(settings, chars, time.perf_counter() - started)
    if args.json:
        _emit(report.to_dict())
    else:
        if not report.touched and not args.rebuild:
            print(f"index {settings.index} is up to date ({report.documents} documents, {report.chunks} chunks)")
        else:
            print(f"added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
                  f"unchanged {report.unchanged} files; embedded {report.embedded} chunks")
            print(f"index {settings.index}: {report.documents} documents, {report.chunks} chunks")
            print(_dropped_summary(report.dropped))
        print("time: " + ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items())
              + f" (total {time.perf_counter() - started:.2f}s"
              + (f"; estimated {duration(expected)})" if expected else ")"))
    return _report_errors(report.errors)


# --- search -----------------------------------------------------------------

def _filter(args: argparse.Namespace):
    from qa.index.protocol import Filter

    return Filter(
        doc_ids=frozenset(args.doc) if args.doc else None,
        title_contains=args.title,
        year=args.year,
    )


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from qa.search import QueryError, Searcher

    scorer = None
    if (args.mode or settings.mode) == "hybrid":  # a BM25 search never loads the answer layer
        from qa.answer import sentence_scorer

        scorer = sentence_scorer(settings)
    searcher = Searcher(settings, scorer)
    where = _filter(args)
    if args.batch:
        from qa.questions import read_questions

        questions, problems = read_questions(Path(args.batch), need_relevance=False)
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        for q in questions:
            try:
                hits = searcher.search(q.question, args.top_k, args.mode, where)
            except QueryError as exc:
                print(f"warning: {q.id}: {exc}", file=sys.stderr)
                hits = []
            if args.json:
                _emit({"id": q.id, "query": q.question, "results": [h.to_dict() for h in hits]})
            else:
                _print_hits(q.question, hits, header=q.id)
        return 0
    if not args.query:
        print("error: give a query or --batch FILE", file=sys.stderr)
        return 2
    try:
        hits = searcher.search(args.query, args.top_k, args.mode, where)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _emit({"query": args.query, "results": [h.to_dict() for h in hits]})
    else:
        _print_hits(args.query, hits)
    return 0


def _print_hits(query: str, hits: list, header: str | None = None) -> None:
    print(f"== {header + ': ' if header else ''}{query}")
    if not hits:
        print("   (no results)")
    for hit in hits:
        c = hit.chunk
        print(f"[{hit.rank}] {hit.score:.4f}  《{c.title}》 {c.section_path or '(正文)'}  ({c.source} {c.start}-{c.end})")
        print("    " + c.text.replace("\n", "\n    "))
    print()


# --- ask --------------------------------------------------------------------

def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.answer.assistant import Assistant
    from qa.search.query import QueryError

    if not args.batch and not args.question:
        print("error: give a question or --batch FILE", file=sys.stderr)
        return 2
    assistant = Assistant(settings)
    if args.batch:
        return _ask_batch(assistant, Path(args.batch), args)
    try:
        answer = assistant.ask(args.question, top_k=args.top_k, mode=args.answer_mode, history=args.history)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _emit(answer.to_dict())
    else:
        _print_answer(answer)
    return 0


def _ask_batch(assistant, path: Path, args: argparse.Namespace) -> int:
    """One answer per question of a JSONL file, in one process (model and
    index load once): ``{"id", ...the ask --json fields}`` per line. A line's
    optional ``history`` (the chat's earlier questions, oldest first) makes
    it a follow-up."""
    from qa.questions import read_questions
    from qa.search.query import QueryError

    questions, problems = read_questions(path, need_relevance=False)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not questions:
        print(f"error: no questions in {path}", file=sys.stderr)
        return 2
    for q in _progress(questions, "answering", quiet=args.json):
        try:
            answer = assistant.ask(q.question, top_k=args.top_k, mode=args.answer_mode, history=q.history or None)
        except QueryError as exc:
            print(f"warning: {q.id}: {exc}", file=sys.stderr)
            _emit({"id": q.id, "question": q.question, "answer": "", "citations": [], "mode": args.answer_mode,
                   "found": False, "resolved": q.question})
            continue
        if args.json:
            _emit({"id": q.id} | answer.to_dict())
        else:
            print(f"== {q.id}: {q.question}")
            _print_answer(answer)
            print()
    return 0


def _progress(items: list, label: str, quiet: bool):
    """Items with a progress bar on stderr (none with --json: stdout stays clean
    and stderr quiet for scripts)."""
    if quiet:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="question", file=sys.stderr)


def _print_answer(answer) -> None:
    if answer.resolved and answer.resolved != answer.question:
        print(f"（按“{answer.resolved}”理解）")
    print(answer.answer)
    print()
    for c in answer.citations:
        section = " > ".join(c.section) or "(正文)"
        print(f"[{c.n}] 《{c.title}》 {section}  ({c.source} {c.start}-{c.end})")
        print(f"    “{c.text}”")


# --- draft ------------------------------------------------------------------

def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from qa.drafting import DraftError, DraftFinder, precedent_filter, prepare_draft, read_draft
    from qa.drafting.finder import format_result
    from qa.search.searcher import Searcher

    try:
        draft = prepare_draft(read_draft(args.draft))
        finder = DraftFinder(Searcher(settings))
    except DraftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = precedent_filter(args.before_year, exclude_ids=args.exclude_doc)
    print(finder.summary(draft, where).note(), file=sys.stderr)  # what the scope excludes, and keeps undated
    bar = tqdm(total=len(draft.sentences), unit="sentence", file=sys.stderr, disable=None)
    paragraph = 0
    for result in finder.find(draft, args.top_k, where, progress=lambda done, _: bar.update(done - bar.n)):
        if args.json:
            _emit(result.to_dict())
        else:
            if result.sentence.paragraph != paragraph:
                paragraph = result.sentence.paragraph
                print(f"\n¶{paragraph}")
            print(format_result(result))
    bar.close()
    return 0


# --- parser -----------------------------------------------------------------

def _common(parser: argparse.ArgumentParser, index: bool = True, corpus: bool = False) -> None:
    if corpus:
        parser.add_argument("--corpus", type=Path, help="corpus directory (default: corpus/, env QA_CORPUS)")
    if index:
        parser.add_argument("--index", type=Path, help="index directory (default: index/, env QA_INDEX)")
        parser.add_argument("--model", help="sentence-transformers model name or path (env QA_MODEL)")
        _backend_options(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _backend_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["local", "milvus"],
                        help="index backend (default local, env QA_BACKEND): local files in --index, or milvus, "
                             "where builds write and searches read everything from --milvus-uri")
    parser.add_argument("--milvus-uri", metavar="URI",
                        help="Milvus: FILE.db runs embedded milvus-lite, http://host:19530 a server "
                             "(default: INDEX/milvus.db; env QA_MILVUS_URI)")
    parser.add_argument("--milvus-collection", metavar="ALIAS",
                        help="Milvus: the alias of the index (default policy_qa, env QA_MILVUS_COLLECTION)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Cited search and answers over Chinese policy reports.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("chunks", help="clean, split and chunk the corpus; print the chunks")
    _common(p, index=False, corpus=True)
    p.add_argument("--chunk-chars", type=int, help="target chunk size in characters")
    p.add_argument("--dropped", action="store_true",
                   help="list the lines cleaning removed (file, rule, line) instead of the chunks")
    p.set_defaults(func=cmd_chunks)

    p = sub.add_parser("build", help="build or update the index from the corpus")
    _common(p, corpus=True)
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument("--chunk-chars", type=int, help="target chunk size in characters")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("search", help="search the index; prints cited passages")
    _common(p)
    p.add_argument("query", nargs="?", help="question or draft paragraph")
    p.add_argument("--batch", help="JSONL file with id and question per line")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--mode", choices=["hybrid", "bm25", "dense"])
    p.add_argument("--doc", action="append", help="only this document id (repeatable)")
    p.add_argument("--title", help="only documents whose title contains this")
    p.add_argument("--year", type=int, help="only documents of this year")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("ask", help="answer a question from the reports, every statement cited")
    _common(p)
    p.add_argument("question", nargs="?")
    p.add_argument("--batch", metavar="FILE.jsonl",
                   help="answer every question of a JSONL file (id, question, optional history); with --json one "
                        "line each")
    p.add_argument("--history", action="append", metavar="QUESTION",
                   help="an earlier question of the chat (repeatable, oldest first): the question is a follow-up")
    p.add_argument("--top-k", type=int, default=6, help="passages to compose the answer from")
    p.add_argument("--mode", dest="answer_mode", choices=["extractive", "llm"], default="extractive",
                   help="llm needs QA_LLM_BASE_URL and QA_LLM_MODEL; falls back to extractive")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("draft", help="the precedents of every sentence of a draft")
    _common(p)
    p.add_argument("draft", help="draft file (.txt, .md, .docx) or - for stdin")
    p.add_argument("--top-k", type=int, default=3, help="precedents per sentence")
    p.add_argument("--before-year", type=int, metavar="YYYY",
                   help="only reports dated before this year; reports that name no year are kept (stderr says how many)")
    p.add_argument("--exclude-doc", action="append", metavar="ID",
                   help="never cite this document (repeatable); a draft that is the text of an indexed "
                        "document excludes it anyway")
    p.set_defaults(func=cmd_draft)

    from qa.evaluation.cli import add_eval_command

    _common(add_eval_command(sub))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if getattr(args, "json", False) else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        # the handler filters too: bm25s sets its own logger to DEBUG when it is imported (later, lazily)
        handler.setLevel(level)
    for noisy in ("faiss", "faiss.loader", "jieba", "httpx", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from qa.index.storage import IndexProblem

    try:
        return args.func(args, _settings(args))
    except IndexProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
