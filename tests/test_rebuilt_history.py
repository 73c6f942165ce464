"""How a thread read back from Slack is shown to the model (the pure mapping, without any server)."""

from __future__ import annotations

from bot.history import BotIdentity, conversation_input

BOT = BotIdentity(user_id="UBOT", bot_id="BBOT")
NAMES = {"UALICE": "alice", "UBOB": "bob"}


def said(user: str, text: str, ts: str, **extra: object) -> dict[str, object]:
    return {"type": "message", "user": user, "text": text, "ts": ts, **extra}


def test_people_in_a_row_are_one_user_turn_and_a_split_answer_one_assistant_turn():
    thread = [
        said("UALICE", "<@UBOT> which region is down?", "1.000001"),
        said("UBOB", "eu-west, since 9:00", "1.000002"),
        said("UBOT", "Part one of the answer.", "1.000003", bot_id="BBOT"),
        said("UBOT", "Part two of the answer.", "1.000004", bot_id="BBOT"),
        said("UBOT", "Sorry, that took too long.", "1.000005", bot_id="BBOT", metadata={"event_type": "bot_notice"}),
        said("UALICE", "thanks <@UBOB>", "1.000006"),
        said("UALICE", "the current message", "1.000007"),
    ]

    items = conversation_input(
        thread, bot=BOT, current_ts="1.000007", forget_before="", names=NAMES, budget_chars=10_000, is_dm=False
    )

    assert items == [
        {"role": "user", "content": "alice (<@UALICE>): which region is down?\n\nbob (<@UBOB>): eu-west, since 9:00"},
        {"role": "assistant", "content": "Part one of the answer.\n\nPart two of the answer."},
        {"role": "user", "content": "alice (<@UALICE>): thanks @bob"},
    ]


def test_the_budget_counts_what_joining_turns_adds():
    thread = [said("UBOB", f"message {n:03d}", f"1.{n:06d}") for n in range(1, 200)]

    [item] = conversation_input(
        thread, bot=BOT, current_ts="2.0", forget_before="", names=NAMES, budget_chars=1_000, is_dm=False
    )

    assert len(item["content"]) <= 1_000
    lines = item["content"].split("\n\n")
    assert lines[0] == "bob (<@UBOB>): message 001"
    assert lines[-1] == "bob (<@UBOB>): message 199"
    assert "earlier messages of this conversation are not shown" in lines[1]


def test_an_oversized_first_message_is_cut_without_a_note_about_nothing_left_out():
    thread = [said("UBOB", "x" * 3_000, "1.000001"), said("UALICE", "short reply", "1.000002")]

    [item] = conversation_input(
        thread, bot=BOT, current_ts="2.0", forget_before="", names=NAMES, budget_chars=1_000, is_dm=False
    )

    assert item["content"].endswith(" […]\n\nalice (<@UALICE>): short reply")
    assert "not shown" not in item["content"]
    assert len(item["content"]) <= 1_000


def test_no_room_at_all_keeps_almost_nothing_rather_than_everything():
    thread = [said("UBOB", "x" * 3_000, "1.000001")]

    [item] = conversation_input(
        thread, bot=BOT, current_ts="2.0", forget_before="", names=NAMES, budget_chars=-50, is_dm=False
    )

    assert len(item["content"]) < 10
