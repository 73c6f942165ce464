"""When the bot may chain from what it stored, and when it must rebuild (the pure decision, no servers)."""

from __future__ import annotations

from bot.state.thread_state import Recall, ThreadState

DAY = 86400.0
NOW = 1_800_000_000.0


def recall(state: ThreadState | None, channel_reset_ts: str = "") -> Recall:
    return Recall(state=state, raw=state.encode() if state else "", channel_reset_ts=channel_reset_ts)


def test_a_fresh_id_is_chained_from():
    state = ThreadState(response_id="resp_1", stored_at=NOW - DAY, anchor_ts="1799999000.000100")
    assert recall(state).usable_reference(NOW, mode="responses", retention_seconds=30 * DAY) == "resp_1"


def test_an_id_past_retention_nothing_stored_or_only_participation_means_rebuild():
    old = ThreadState(response_id="resp_1", stored_at=NOW - 31 * DAY, anchor_ts="1797000000.000100")
    assert recall(old).usable_reference(NOW, mode="responses", retention_seconds=30 * DAY) is None
    assert recall(None).usable_reference(NOW, mode="responses", retention_seconds=30 * DAY) is None
    participation = recall(ThreadState(stored_at=NOW))
    assert participation.usable_reference(NOW, mode="responses", retention_seconds=30 * DAY) is None


def test_conversations_and_transcripts_do_not_expire_with_stored_responses():
    old = ThreadState(
        response_id="conv_1", stored_at=NOW - 300 * DAY, anchor_ts="1774000000.0", memory_mode="conversations"
    )
    assert recall(old).usable_reference(NOW, mode="conversations", retention_seconds=None) == "conv_1"


def test_memory_kept_by_another_mode_is_rebuilt_once_and_the_old_one_forgotten_only_in_its_own_mode():
    older_state = ThreadState(
        response_id="resp_1", stored_at=NOW, anchor_ts="1799999000.000100"
    )  # written before modes
    for mode in ("conversations", "local"):
        assert recall(older_state).usable_reference(NOW, mode=mode, retention_seconds=None) is None
        assert recall(older_state).superseded_reference(mode=mode) is None
    conversation = ThreadState(
        response_id="conv_1", stored_at=NOW, anchor_ts="1799999000.1", memory_mode="conversations"
    )
    assert recall(conversation).usable_reference(NOW, mode="responses", retention_seconds=30 * DAY) is None
    assert recall(conversation, channel_reset_ts="1799999500.0").superseded_reference(mode="conversations") == "conv_1"


def test_an_id_from_before_a_reset_is_never_used_again():
    state = ThreadState(response_id="resp_1", stored_at=NOW, anchor_ts="1799999000.000100")
    after_reset = recall(state, channel_reset_ts="1799999500.000000")
    assert after_reset.usable_reference(NOW, mode="responses", retention_seconds=30 * DAY) is None
    reset_in_thread = ThreadState(stored_at=NOW, anchor_ts="1799999500.0", reset_ts="1799999500.0")
    assert recall(reset_in_thread).forget_before == "1799999500.0"


def test_the_stored_form_round_trips_and_survives_damage():
    state = ThreadState(response_id="resp_1", stored_at=NOW, anchor_ts="1799999000.000100", reset_ts="1.0")
    assert ThreadState.decode(state.encode()) == state
    assert ThreadState.decode("resp_2|not-a-number") == ThreadState(response_id="resp_2")
    tagged = ThreadState(response_id="conv_1", stored_at=NOW, anchor_ts="1.0", memory_mode="conversations")
    assert ThreadState.decode(tagged.encode()) == tagged
    assert tagged.encode().split("|")[2:4] == ["1.0", ""]  # the store script reads anchor and reset by position


def test_only_a_recent_thread_older_than_redis_memory_may_have_been_forgotten():
    nothing = Recall(state=None, raw="", remembering_since="1799990000.000000")
    window = 90 * DAY

    assert nothing.may_have_forgotten("1799980000.000000", now=NOW, memory_seconds=window)  # began before
    assert not nothing.may_have_forgotten("1799995000.000000", now=NOW, memory_seconds=window)  # began after
    assert not nothing.may_have_forgotten("1700000000.000000", now=NOW, memory_seconds=window)  # too old to follow
    wiped = Recall(state=None, raw="", remembering_since="")
    assert wiped.may_have_forgotten("1799995000.000000", now=NOW, memory_seconds=window)
    asked = Recall(state=None, raw="", not_ours=True)
    assert not asked.may_have_forgotten("1799995000.000000", now=NOW, memory_seconds=window)
    redis_away = Recall(state=None, raw=None)
    assert not redis_away.may_have_forgotten("1799995000.000000", now=NOW, memory_seconds=window)
