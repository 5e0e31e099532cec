"""Voice, end to end through the emulator on SQLite and PostgreSQL: a question asked by voice reaches the lawyer
with its audio, the lawyer asks for details and answers by voice, the asker hears it; a monitoring answer by voice
keeps the audio. No speech-to-text: the audio itself is kept (file ids)."""

from __future__ import annotations

from sqlalchemy import select

from storage.helpdesk import Question, QuestionEntry
from storage.plan import MonitoringAnswer
from tests.harness import Harness
from tests.test_helpdesk_flow import ASKER_K, GROUP, desk_bot, has_button, user  # noqa: F401 - the fixture
from tests.test_plan_flow import WOMAN, bot, build_plan, morning, people, tick  # noqa: F401 - the fixture


async def test_a_voice_question_is_answered_by_voice(desk_bot: Harness) -> None:  # noqa: F811
    harness = desk_bot
    group = harness.emu.group(GROUP, "Union lawyers")
    asker = user(harness, ASKER_K)
    await asker.send("/ask")
    await asker.tap(contains="Local budget")
    await asker.send_voice(duration=75)
    assert "Submit the question" in asker.last.buttons[0]
    await asker.tap("Submit the question")
    assert "Your question is received: No. 1" in asker.last.text
    card = await group.wait_for_message(has_button("Take"))
    assert "🎤 1:15" in card.text
    lawyer = harness.user(2001, "Nurlan", language_code="en")
    await lawyer.tap("Take", message=card)
    heard = [m for m in lawyer.messages if m.voice is not None]
    assert len(heard) == 1  # the lawyer gets the audio with the card

    # A clarification by voice both ways.
    await lawyer.tap("Ask for details")
    await lawyer.send_voice(duration=5)
    assert any(m.voice is not None for m in asker.messages)
    await asker.tap("Reply with details")
    await asker.send_voice(duration=9)
    assert any("answered your request on question No. 1" in (m.text or "") for m in lawyer.messages)
    assert lawyer.messages[-1].voice is not None
    assert len([m for m in lawyer.messages if m.voice is not None]) == 2

    # The answer by voice.
    await lawyer.tap("Open No. 1")
    await lawyer.tap("Answer")
    await lawyer.send_voice(duration=30)
    await lawyer.tap("Send the answer")
    answer = await asker.wait_for_message(lambda m: "Answer to your question No. 1" in (m.text or ""))
    assert "🎤 0:30" in answer.text
    assert len([m for m in asker.messages if m.voice is not None]) == 2  # the request and the answer
    async with harness.db.session() as session:
        question = await session.get(Question, 1)
        assert question.status == "answered" and question.text == "🎤 1:15"
        entries = (await session.scalars(select(QuestionEntry).order_by(QuestionEntry.id))).all()
        voices = [a for e in entries for a in e.attachments if a["type"] == "voice"]
        assert len(voices) == 4 and all(v["file_id"] for v in voices)


async def test_a_monitoring_answer_by_voice_keeps_the_audio(bot: Harness) -> None:  # noqa: F811
    await people(bot)
    _plan, _activity, _due, checks = await build_plan(bot)
    woman = bot.user(WOMAN)
    await tick(bot, morning(checks[0]))
    prompt = await woman.wait_for_message(lambda m: "Monitoring" in (m.text or ""))
    await woman.tap("in progress", message=prompt)
    await woman.tap("50%")
    await woman.send_voice(duration=12)
    await woman.tap("Skip")
    assert woman.last.text == "Thank you, your monitoring answer is saved: in progress, 50% done."
    async with bot.db.session() as session:
        answer = await session.scalar(select(MonitoringAnswer))
        assert answer is not None and answer.voice_file_id and answer.photo_file_id is None
