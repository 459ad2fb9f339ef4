"""The resident's answers to the two verification questions, read from what they typed (pure).

After a unit's reply (``resolved``) the resident is asked, one at a time:

1. "问题解决了吗？回复 1 已解决，2 未解决" — :attr:`Question.solved`;
2. "您对办理结果满意吗？回复 1 满意，2 基本满意，3 不满意" — :attr:`Question.satisfaction`.

:func:`parse_reply` reads a text message (SMS, WeChat) into a :class:`Reply`: a digit that
answers whichever question was asked (``"1"``, full-width ``"１"``), or words that answer one
question by themselves (``"已解决"``, ``"未解决"``, ``"满意"``, ``"基本满意"``, ``"不满意"``),
optionally with a ticket number (``"1 2612070001"``, ``"2612070001 未解决"``) and the resident's
own words after a separator (``"2，灯还是不亮"``). Anything else — ``"3号楼漏水"``, a number
alone, a long message — is not an answer (None) and stays a message. :meth:`Reply.answer_to`
turns a reply into the :class:`Answer` to a given question. No I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from tickets.model import NUMBER_MAX_DIGITS, NUMBER_MIN_DIGITS, Satisfaction

MAX_REPLY_CHARS = 300  # longer texts are messages, not answers


class Question(StrEnum):
    solved = "solved"  # 问题解决了吗？
    satisfaction = "satisfaction"  # 您对办理结果满意吗？


# the digits of each question, in the order the question offers them
CHOICES: dict[Question, tuple[bool | Satisfaction, ...]] = {
    Question.solved: (True, False),
    Question.satisfaction: (Satisfaction.satisfied, Satisfaction.basically_satisfied,
                            Satisfaction.dissatisfied),
}

# words that answer one question whatever was asked; longer spellings first
_SOLVED_WORDS: tuple[tuple[str, bool], ...] = (
    ("还没有解决", False), ("还没解决", False), ("没有解决", False), ("没解决", False),
    ("未解决", False), ("不解决", False),
    ("已经解决", True), ("已解决", True), ("解决了", True),
)
_SATISFACTION_WORDS: tuple[tuple[str, Satisfaction], ...] = (
    ("非常满意", Satisfaction.satisfied), ("基本满意", Satisfaction.basically_satisfied),
    ("比较满意", Satisfaction.basically_satisfied), ("不太满意", Satisfaction.dissatisfied),
    ("很不满意", Satisfaction.dissatisfied), ("不满意", Satisfaction.dissatisfied),
    ("满意", Satisfaction.satisfied),
)
_SEPARATORS = " \t\r\n,.;:!?、。，；：！？…~～-—()（）[]【】\"'“”‘’"
_NUMBER_AT_START = re.compile(rf"(\d{{{NUMBER_MIN_DIGITS},{NUMBER_MAX_DIGITS}}})(?!\d)")
_NUMBER_AT_END = re.compile(rf"(?<!\d)(\d{{{NUMBER_MIN_DIGITS},{NUMBER_MAX_DIGITS}}})$")
_CHOICE = re.compile(r"([1-3])(?!\d)")
# a politeness word or "了" that may follow an answer word
_TRAILERS = ("了", "的", "啦", "吧", "谢谢", "感谢")


@dataclass(frozen=True)
class Answer:
    """One answer to one question (exactly one of ``solved``/``satisfaction`` is set)."""

    question: Question
    solved: bool | None = None
    satisfaction: Satisfaction | None = None

    @classmethod
    def of_solved(cls, solved: bool) -> Answer:
        return cls(Question.solved, solved=solved)

    @classmethod
    def of_satisfaction(cls, satisfaction: Satisfaction) -> Answer:
        return cls(Question.satisfaction, satisfaction=satisfaction)

    @classmethod
    def of_choice(cls, question: Question, choice: int) -> Answer | None:
        """The answer that digit ``choice`` (1-based) gives to ``question``; None when the
        question offers no such digit."""
        options = CHOICES[question]
        if not 1 <= choice <= len(options):
            return None
        value = options[choice - 1]
        if isinstance(value, Satisfaction):
            return cls.of_satisfaction(value)
        return cls.of_solved(value)


@dataclass(frozen=True)
class Reply:
    """What a resident's text says: a digit or answer words, perhaps a ticket number, perhaps
    their own words."""

    choice: int | None = None  # 1–3: answers whichever question was asked
    solved: bool | None = None  # from words such as 已解决 / 未解决
    satisfaction: Satisfaction | None = None  # from words such as 满意 / 基本满意 / 不满意
    number: str | None = None  # a ticket number the answer names
    words: str = ""  # what else the resident wrote (kept with the answer)

    def answer_to(self, question: Question) -> Answer | None:
        """The answer this reply gives when ``question`` is the one asked: a digit answers
        it, words answer their own question (whichever was asked); None for a digit the
        question does not offer."""
        if self.solved is not None:
            return Answer.of_solved(self.solved)
        if self.satisfaction is not None:
            return Answer.of_satisfaction(self.satisfaction)
        if self.choice is not None:
            return Answer.of_choice(question, self.choice)
        return None

    @property
    def question(self) -> Question | None:
        """The question the words answer by themselves (None for a bare digit)."""
        if self.solved is not None:
            return Question.solved
        if self.satisfaction is not None:
            return Question.satisfaction
        return None


def _strip_separators(text: str) -> str:
    return text.strip(_SEPARATORS)


def _take_number(text: str) -> tuple[str | None, str]:
    """A ticket number at the start or the end of ``text``, and the text without it."""
    start = _NUMBER_AT_START.match(text)
    if start:
        return start.group(1), _strip_separators(text[start.end():])
    end = _NUMBER_AT_END.search(text)
    if end:
        return end.group(1), _strip_separators(text[:end.start()])
    return None, text


def _rest(text: str, taken: int) -> str | None:
    """What follows an answer of ``taken`` characters: the resident's words, or None when the
    answer runs straight into more text (``"3号楼"`` is not the digit 3)."""
    rest = text[taken:]
    for trailer in _TRAILERS:
        if rest.startswith(trailer):
            rest = rest[len(trailer):]
            break
    if not rest:
        return ""
    if rest[0] not in _SEPARATORS:
        return None
    return _strip_separators(rest)


def _head(text: str) -> Reply | None:
    for word, solved in _SOLVED_WORDS:
        if text.startswith(word):
            rest = _rest(text, len(word))
            return None if rest is None else Reply(solved=solved, words=rest)
    for word, satisfaction in _SATISFACTION_WORDS:
        if text.startswith(word):
            rest = _rest(text, len(word))
            return None if rest is None else Reply(satisfaction=satisfaction, words=rest)
    choice = _CHOICE.match(text)
    if choice:
        rest = _rest(text, 1)
        return None if rest is None else Reply(choice=int(choice.group(1)), words=rest)
    return None


def normalize(text: str) -> str:
    """Full-width digits and punctuation to their ASCII forms, outer blanks removed."""
    return _strip_separators(unicodedata.normalize("NFKC", text))


def parse_reply(text: str) -> Reply | None:
    """Read ``text`` as an answer to a verification question; None when it is not one."""
    if len(text) > MAX_REPLY_CHARS:
        return None
    cleaned = normalize(text)
    if not cleaned:
        return None
    number, rest = _take_number(cleaned)
    if not rest:
        return None  # a number alone asks for the ticket's status
    head = _head(rest)
    if head is None:
        return None
    words = head.words
    if number is None and words:
        # "2 2612070001 灯还是不亮": the number may also open the resident's words
        number, words = _take_number(words)
    return Reply(choice=head.choice, solved=head.solved, satisfaction=head.satisfaction,
                 number=number, words=words)
