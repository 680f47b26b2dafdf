"""The one Assistant the app's requests share: model and index load once."""

from __future__ import annotations

import threading

from qa.answer import Assistant
from qa.settings import Settings

_assistant: Assistant | None = None
_init_lock = threading.Lock()
#: one corpus change (upload, delete, rebuild) at a time
build_lock = threading.Lock()


def init(settings: Settings | None = None) -> Assistant:
    """Create the one shared Assistant (model and index load once)."""
    global _assistant
    with _init_lock:
        if _assistant is None or (settings is not None and _assistant.settings != settings):
            _assistant = Assistant(settings or Settings.from_env())
        return _assistant


def assistant() -> Assistant:
    return _assistant if _assistant is not None else init()
