"""The gradio app (placeholder until the UI issue lands): `make run` serves it."""

from __future__ import annotations

import os

from qa.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    print(f"index ready in {settings.index}; the web app is not built yet.")
    print("Try the CLI meanwhile: python -m qa search \"教师交流的主要措施有哪些？\"")
    if os.environ.get("GRADIO_SERVER_NAME"):
        print("GRADIO_SERVER_NAME is set but no server runs yet.")


if __name__ == "__main__":
    main()
