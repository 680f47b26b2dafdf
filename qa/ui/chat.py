"""The 问答 tab: a question (or a follow-up) in, the cited answer and its sources out."""

from __future__ import annotations

import logging
from typing import Any

from qa.search import QueryError, normalize_query
from qa.settings import Settings
from qa.ui.messages import query_error
from qa.ui.render import answer_markdown, esc, sources_html
from qa.ui.state import assistant

logger = logging.getLogger(__name__)


def history_questions(history: Any) -> list[str]:
    """The user's earlier questions from a chat history: gradio message dicts
    (content a string or a list of ``{"type": "text", "text": ...}`` blocks),
    ``[user, bot]`` pairs, or plain strings."""
    questions: list[str] = []
    for item in history or []:
        if isinstance(item, str):
            questions.append(item)
            continue
        if isinstance(item, (list, tuple)):
            if item and isinstance(item[0], str):
                questions.append(item[0])
            continue
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        text = _content_text(item.get("content"))
        if text.strip():
            questions.append(text.strip())
    return questions


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_content_text(c) for c in content)
    return ""


def ask(question: str, history: Any = None, top_k: int | None = None) -> tuple[str, str]:
    """Answer a question (a follow-up is read against the earlier question,
    ``qa.followup``) → (answer
    markdown, sources HTML)."""
    try:
        answer = assistant().ask(question or "", top_k=top_k, history=history_questions(history) or None)
    except QueryError as exc:
        return query_error(exc), ""
    return answer_markdown(answer), sources_html(answer)


def llm_configured(settings: Settings | None = None) -> bool:
    settings = settings or assistant().settings
    return bool(settings.llm_base_url and settings.llm_model)


def ask_stream(question: str, history: Any = None, top_k: int | None = None):
    """Like ``ask`` but a generator of (answer markdown, sources HTML) steps.

    With a generation server configured (QA_LLM_BASE_URL + QA_LLM_MODEL) it
    yields the growing answer token by token, then the final answer with only
    the properly cited sentences; otherwise, or when the server fails or cites
    nothing, it yields the extractive answer once."""
    a = assistant()
    if not llm_configured(a.settings):
        yield ask(question, history, top_k)
        return
    from qa.answer.generation import cited_answer, stream_tokens

    earlier = history_questions(history)
    try:
        normalize_query(question or "")
        hits = a.searcher.search(a.search_query(question, earlier), top_k or 6)
    except QueryError as exc:
        yield query_error(exc), ""
        return
    waiting = '<div class="qa-sources qa-note">正在生成回答，完成后显示引文出处……</div>'
    text = ""
    try:
        for token in stream_tokens(a.settings, question, hits):
            text += token
            yield esc(text).replace("\n", "  \n") + " ▌", waiting
    except Exception as exc:  # network, timeout, server error: fall back
        logger.warning("generation server failed, falling back to the extractive answer: %s", exc)
        text = ""
    answer = cited_answer(question, text, hits) if text else None
    if answer is None:
        answer = a.extractive(question, hits)
    yield answer_markdown(answer), sources_html(answer)
