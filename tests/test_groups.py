"""Groups (issue 10, 8): silent in groups, except the bot's own commands and buttons in the lawyers' group;
service messages ignored; added to an unknown group, it says once what it is for."""

from __future__ import annotations

from tests.harness import Harness
from tests.test_helpdesk_flow import ASKER_K, GROUP, LAWYER_1, ask, desk_bot, user  # noqa: F401 - the fixture

OTHER_GROUP = -100777


async def test_an_unknown_group_hears_one_introduction_then_silence(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    group = bot.emu.group(OTHER_GROUP, "Village chat", supergroup=True)
    adder = bot.user(3501, "Azamat", language_code="en")
    await group.add_bot(adder)
    assert len(group.messages) == 1 and "private chat" in group.messages[0].text
    member = bot.user(3502, "Cholpon", language_code="en")
    await group.send(adder, "hello everyone")
    await group.send(member, "/help")
    await group.send(member, "/start")
    await group.send(member, "/vote@jamaat_bot")
    await group.service(adder, new_chat_members=[{"id": 3503, "is_bot": False, "first_name": "New"}])
    await group.service(adder, pinned_message={"message_id": 1, "date": 0, "chat": {"id": OTHER_GROUP,
                                               "type": "supergroup", "title": "Village chat"}})
    await group.service(adder, new_chat_title="Village chat 2")
    await group.service(adder, migrate_to_chat_id=-100778)
    assert len(group.messages) == 1, group.dump()
    assert bot.user(3502).messages == [] and adder.messages == []


async def test_the_lawyers_group_hears_only_the_bots_commands_and_buttons(desk_bot: Harness) -> None:  # noqa: F811
    bot = desk_bot
    group = bot.emu.group(GROUP, "Union lawyers")
    lawyer = user(bot, LAWYER_1)
    await group.send(lawyer, "Colleagues, who is on duty today?")
    await group.send(lawyer, "/dance")
    await group.send(lawyer, "/queue@some_other_bot")
    await group.service(lawyer, new_chat_members=[{"id": 3504, "is_bot": False, "first_name": "Intern"}])
    await group.service(lawyer, migrate_to_chat_id=-100500500)
    assert group.messages == [], group.dump()

    asker = await ask(bot, ASKER_K, "Local budget", "May the council move money between budget lines mid-year?")
    await asker.tap("Submit the question")
    card = await group.wait_for_message(lambda m: any("Take" in b for row in m.buttons for b in row))
    await group.tap(lawyer, next(b for row in card.buttons for b in row if "Take" in b), message=card)
    assert lawyer.last_answer[0].startswith("You took question No. 1")
