"""How a thread read back from Slack is shown to the model (the pure mapping, without any server)."""

from __future__ import annotations

from bot.turn.history import BotIdentity, conversation_input

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
        {"role": "user", "content": "alice (<@UALICE>): thanks @bob (bob is <@UBOB>)"},
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


def test_files_of_kept_messages_come_back_with_them_and_only_their_text_counts_against_the_budget():
    image = {"type": "input_image", "detail": "auto", "image_url": "data:image/png;base64,iVBORw=="}
    shot = {"id": "F1", "name": "shot.png", "pretty_type": "PNG", "size": 2048}
    old = {"id": "F0", "name": "old.png", "pretty_type": "PNG", "size": 10}
    thread = [
        said("UALICE", "<@UBOT> what's wrong?", "1.000001", subtype="file_share", files=[shot]),
        said("UBOB", "x" * 400, "1.000002", subtype="file_share", files=[old]),
        said("UBOB", "same here", "1.000003"),
    ]

    [item] = conversation_input(
        thread,
        bot=BOT,
        current_ts="2.0",
        forget_before="",
        names=NAMES,
        budget_chars=300,
        is_dm=False,
        file_parts={"F1": [image]},
    )

    assert [p["type"] for p in item["content"]] == ["input_text", "input_image", "input_text", "input_text"]
    assert item["content"][0]["text"] == "alice (<@UALICE>): what's wrong?"
    assert item["content"][1] == image
    assert "earlier messages of this conversation are not shown" in item["content"][2]["text"]
    assert item["content"][3]["text"] == "\n\nbob (<@UBOB>): same here"


def test_a_file_the_rebuild_did_not_read_is_named():
    thread = [said("UALICE", "", "1.000001", subtype="file_share", files=[{"id": "F9", "name": "a.zip", "size": 5}])]

    [item] = conversation_input(
        thread, bot=BOT, current_ts="2.0", forget_before="", names=NAMES, budget_chars=1_000, is_dm=False
    )

    assert (
        item["content"][-1]["text"]
        == "[file a.zip (unknown type, 5 bytes) not readable: not read again for this rebuilt conversation]"
    )
