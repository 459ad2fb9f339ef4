"""Known answers for reading a resident's reply to the verification questions."""

from __future__ import annotations

import pytest

from tickets.answers import Answer, Question, Reply, parse_reply
from tickets.model import Satisfaction

S = Satisfaction


@pytest.mark.parametrize(("text", "expected"), [
    ("1", Reply(choice=1)),
    ("2", Reply(choice=2)),
    ("3", Reply(choice=3)),
    (" １ ", Reply(choice=1)),  # full-width digit, blanks
    ("２。", Reply(choice=2)),
    ("1 2612070001", Reply(choice=1, number="2612070001")),
    ("2612070001 2", Reply(choice=2, number="2612070001")),
    ("１　２６１２０７０００１", Reply(choice=1, number="2612070001")),
    ("2，灯还是不亮", Reply(choice=2, words="灯还是不亮")),
    ("2 2612070001 灯还是不亮", Reply(choice=2, number="2612070001", words="灯还是不亮")),
    ("已解决", Reply(solved=True)),
    ("已经解决了！", Reply(solved=True)),
    ("解决了，谢谢", Reply(solved=True, words="谢谢")),
    ("未解决", Reply(solved=False)),
    ("没有解决 还在漏水", Reply(solved=False, words="还在漏水")),
    ("还没解决", Reply(solved=False)),
    ("满意", Reply(satisfaction=S.satisfied)),
    ("非常满意！", Reply(satisfaction=S.satisfied)),
    ("基本满意", Reply(satisfaction=S.basically_satisfied)),
    ("不满意", Reply(satisfaction=S.dissatisfied)),
    ("不满意，态度很差", Reply(satisfaction=S.dissatisfied, words="态度很差")),
    ("2612070001 未解决", Reply(solved=False, number="2612070001")),
    ("满意 2612070001", Reply(satisfaction=S.satisfied, number="2612070001")),
])
def test_answers(text: str, expected: Reply) -> None:
    assert parse_reply(text) == expected


@pytest.mark.parametrize("text", [
    "", "   ", "4", "5", "0", "12", "3号楼漏水", "1楼楼道灯坏了", "2612070001",
    "查询 2612070001", "满意度调查是什么", "解决一下楼道灯", "路灯不亮", "1" * 9,
    "1 " + "很" * 400,
])
def test_not_answers(text: str) -> None:
    assert parse_reply(text) is None


@pytest.mark.parametrize(("reply", "question", "answer"), [
    (Reply(choice=1), Question.solved, Answer.of_solved(True)),
    (Reply(choice=2), Question.solved, Answer.of_solved(False)),
    (Reply(choice=3), Question.solved, None),
    (Reply(choice=1), Question.satisfaction, Answer.of_satisfaction(S.satisfied)),
    (Reply(choice=2), Question.satisfaction, Answer.of_satisfaction(S.basically_satisfied)),
    (Reply(choice=3), Question.satisfaction, Answer.of_satisfaction(S.dissatisfied)),
    # words answer their own question whatever was asked
    (Reply(solved=True), Question.satisfaction, Answer.of_solved(True)),
    (Reply(satisfaction=S.dissatisfied), Question.solved, Answer.of_satisfaction(S.dissatisfied)),
])
def test_answer_to(reply: Reply, question: Question, answer: Answer | None) -> None:
    assert reply.answer_to(question) == answer
