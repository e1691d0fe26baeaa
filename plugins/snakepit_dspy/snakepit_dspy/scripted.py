"""The offline LM: DSPy's DummyLM answering from a script, failing clearly when it runs out.

``configure_lm`` with ``{"model": "dummy", "answers": [...]}`` builds one.
DummyLM on its own answers ``"No more responses"`` forever once its list is
used up, which would hide a broken demo or test; here the script raises
:class:`AnswersExhausted` instead, and the command fails saying so.
"""

from __future__ import annotations

import threading
from typing import Any

from snakepit_dspy.dspy_import import dspy
from snakepit_host import FailedPrecondition, InvalidArgument


class AnswersExhausted(FailedPrecondition):
    """The scripted LM was asked for more answers than it was given."""


class ScriptedAnswers:
    """A thread-safe iterator over the scripted answers (shared by every copy of the LM)."""

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self._answers = answers
        self._next = 0
        self._lock = threading.Lock()

    def __iter__(self) -> ScriptedAnswers:
        return self

    def __next__(self) -> dict[str, Any]:
        with self._lock:
            if self._next >= len(self._answers):
                raise AnswersExhausted(
                    f"the dummy LM has used all {len(self._answers)} scripted answer(s); "
                    "call configure_lm again with more answers"
                )
            self._next += 1
            return self._answers[self._next - 1]

    @property
    def remaining(self) -> int:
        return len(self._answers) - self._next


def check_answers(answers: object) -> list[dict[str, Any]]:
    """The answers configure_lm was given (their shape is in its schema); a dummy LM cannot do without."""
    if not isinstance(answers, list):
        raise InvalidArgument(
            "configure_lm: model 'dummy' needs 'answers', a non-empty list of objects of output fields, "
            'e.g. [{"answer": "Paris"}]'
        )
    return answers


def scripted_lm(answers: object, settings: dict[str, Any]) -> Any:
    """A DummyLM answering from ``answers`` (checked here), then failing with AnswersExhausted."""
    lm = dspy.utils.DummyLM(answers=[])
    lm.answers = ScriptedAnswers(check_answers(answers))
    lm.kwargs.update(settings)
    return lm


def exhausted_in(exc: BaseException) -> AnswersExhausted | None:
    """The AnswersExhausted behind an exception DSPy wrapped, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AnswersExhausted):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
