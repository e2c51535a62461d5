"""schemathesis' command line, with ast.parse serialised across threads.

schemathesis' workers are threads, and Hypothesis parses a lambda's source (ast.parse) to
describe it. CPython 3.11 keeps the AST converter's recursion depth in interpreter-wide state,
so two threads parsing at once abort with "AST constructor recursion depth mismatch" (a
schemathesis "Runtime Error" that says nothing about our API). One lock around ast.parse
avoids it; run as `python -m tests.support.schemathesis_cli run ...`.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

_lock = threading.RLock()
_parse = ast.parse


def _serial_parse(*args: Any, **kwargs: Any) -> Any:
    with _lock:
        return _parse(*args, **kwargs)


if __name__ == "__main__":
    ast.parse = _serial_parse  # type: ignore[assignment]
    from schemathesis.cli import schemathesis

    sys.exit(schemathesis())
