"""The fake Responses API, driven through the real openai client and Agents SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pydantic
import pytest
import pytest_asyncio
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner
from agents.exceptions import ModelBehaviorError
from fakes.openai import FakeOpenAI, documented_error
from fakes.openai.contract import check_input_limits
from fakes.openai.wire import ApiError
from openai.types.responses import Response, ResponseStreamEvent

pytestmark = pytest.mark.asyncio

NO_TRACING = RunConfig(tracing_disabled=True)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def make_agent(fake: FakeOpenAI, **client_kwargs: Any) -> Agent[Any]:
    client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", **client_kwargs)
    model = OpenAIResponsesModel(model="gpt-test", openai_client=client)
    return Agent(name="bot", instructions="Be brief.", model=model)


async def test_chained_run_sees_full_context(fake: FakeOpenAI) -> None:
    agent = make_agent(fake, max_retries=0)
    first = await Runner.run(agent, "hello", run_config=NO_TRACING)
    second = await Runner.run(agent, "and again", previous_response_id=first.last_response_id, run_config=NO_TRACING)

    assert first.final_output == "Reply 1: hello"
    assert second.final_output == "Reply 2: and again"
    req = fake.requests[1]
    assert req.previous_response_id == first.last_response_id
    assert req.instructions == "Be brief."
    assert req.input_texts == [("user", "and again")]
    assert req.context == [("user", "hello"), ("assistant", "Reply 1: hello"), ("user", "and again")]
    assert req.response_id == second.last_response_id and req.status == 200
    assert fake.full_context_of(second.last_response_id or "")[-1] == ("assistant", "Reply 2: and again")


async def test_run_streamed_yields_deltas(fake: FakeOpenAI) -> None:
    fake.reply_with("one two three four five six")
    result = Runner.run_streamed(make_agent(fake, max_retries=0), "stream please", run_config=NO_TRACING)
    deltas = [
        ev.data.delta
        async for ev in result.stream_events()
        if ev.type == "raw_response_event" and ev.data.type == "response.output_text.delta"
    ]

    assert deltas == ["one two ", "three ", "four ", "five ", "six"]
    assert result.final_output == "one two three four five six"
    assert result.last_response_id == fake.requests[0].response_id
    assert fake.requests[0].stream and result.last_response_id in fake.responses


@pytest.mark.parametrize("style", ["openai", "gateway"])
async def test_forgotten_previous_id_is_bad_request(fake: FakeOpenAI, style: str) -> None:
    agent = make_agent(fake, max_retries=0)
    first = await Runner.run(agent, "hello", run_config=NO_TRACING)
    fake.forget(first.last_response_id or "")
    fake.invalid_id_style = style  # type: ignore[assignment]

    with pytest.raises(openai.BadRequestError) as info:
        await Runner.run(agent, "again", previous_response_id=first.last_response_id, run_config=NO_TRACING)

    expected = "previous_response_not_found" if style == "openai" else "invalid_request_error"
    assert info.value.code == expected and info.value.param == "previous_response_id"
    assert fake.requests[-1].status == 400 and fake.requests[-1].response_id is None


async def test_server_error_is_retried_by_client(fake: FakeOpenAI) -> None:
    fake.fail_next(status=500)
    result = await Runner.run(make_agent(fake, max_retries=2), "hi", run_config=NO_TRACING)

    assert result.final_output == "Reply 1: hi"
    assert [r.status for r in fake.requests] == [500, 200]


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("disconnect", openai.APIConnectionError),
        ("error_event", openai.APIError),
        ("error_event_flat", ModelBehaviorError),
    ],
)
async def test_stream_failing_midway_raises(fake: FakeOpenAI, mode: Any, error: type[Exception]) -> None:
    fake.fail_stream_midway_next(after_deltas=2, mode=mode)
    result = Runner.run_streamed(make_agent(fake, max_retries=0), "a b c d e f", run_config=NO_TRACING)
    deltas: list[str] = []

    with pytest.raises(error):
        async for ev in result.stream_events():
            if ev.type == "raw_response_event" and ev.data.type == "response.output_text.delta":
                deltas.append(ev.data.delta)

    assert len(deltas) == 2
    assert fake.requests[0].stream_broken and fake.requests[0].response_id is None
    assert not fake.responses


async def test_hang_provokes_client_timeout(fake: FakeOpenAI) -> None:
    fake.hang_next(seconds=30)
    with pytest.raises(openai.APITimeoutError):
        await Runner.run(make_agent(fake, max_retries=0, timeout=0.2), "hi", run_config=NO_TRACING)


async def test_wire_format_validates_against_sdk_types(fake: FakeOpenAI) -> None:
    events = pydantic.TypeAdapter(ResponseStreamEvent)
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer sk-test"}) as http:
        async with http.post(f"{fake.base_url}/responses", json={"model": "m", "input": "hi"}) as resp:
            first = Response.model_validate(await resp.json())
            assert resp.headers["x-request-id"].startswith("req_")
        body = {"model": "m", "input": "more", "stream": True, "previous_response_id": first.id}
        async with http.post(f"{fake.base_url}/responses", json=body) as resp:
            assert resp.content_type == "text/event-stream"
            blocks = (await resp.text()).strip().split("\n\n")
        async with http.get(f"{fake.base_url}/responses/{first.id}") as resp:
            assert (await resp.json())["id"] == first.id
        async with http.post(f"{fake.base_url}/traces/ingest", json={"data": []}) as resp:
            assert resp.status == 204 and fake.trace_batches == 1
    anonymous = aiohttp.ClientSession()
    async with anonymous, anonymous.post(f"{fake.base_url}/responses", json={"model": "m"}) as resp:
        assert resp.status == 401 and "error" in await resp.json()

    parsed = []
    for block in blocks:
        event_line, data_line = block.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {data['type']}"
        parsed.append(events.validate_python(data))
    assert [e.sequence_number for e in parsed] == list(range(len(parsed)))
    assert parsed[-1].type == "response.completed" and parsed[-1].response.output_text == "Reply 2: more"


async def test_reply_queue_default_reply_and_store_false(fake: FakeOpenAI) -> None:
    client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    fake.reply_with("canned", lambda req: f"saw {req.input_texts[0][1]}")
    fake.default_reply = lambda req: "fallback"
    replies = [await client.responses.create(model="m", input=text) for text in ("a", "b", "c")]
    unstored = await client.responses.create(model="m", input="d", store=False)

    assert [r.output_text for r in replies] == ["canned", "saw b", "fallback"]
    assert unstored.id not in fake.responses and replies[0].id in fake.responses
    assert fake.requests[0].raw_bytes == int(fake.requests[0].headers["content-length"]) > 0


async def test_files_are_uploaded_and_image_and_file_inputs_are_checked(fake: FakeOpenAI) -> None:
    client = fake.client()
    uploaded = await client.files.create(
        file=("chart.png", b"\x89PNG chart", "image/png"),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert uploaded.id.startswith("file-") and uploaded.bytes == 10 and uploaded.purpose == "user_data"
    with pytest.raises(openai.BadRequestError):
        await client.files.create(file=("x.txt", b"x", "text/plain"), purpose="nonsense")  # type: ignore[arg-type]

    image = {"type": "input_image", "detail": "auto", "file_id": uploaded.id}
    pdf = {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERg=="}
    first = await client.responses.create(
        model="gpt-test", input=[{"role": "user", "content": [{"type": "input_text", "text": "see"}, image, pdf]}]
    )
    assert fake.last_request.files_sent == [fake.files.hash_of(b"\x89PNG chart"), fake.files.hash_of(b"%PDF")]
    await client.responses.create(model="gpt-test", input="and?", previous_response_id=first.id)
    assert fake.last_request.files_sent == [] and len(fake.last_request.files_seen) == 2

    bad = [
        {"type": "input_image", "detail": "auto", "image_url": "data:application/zip;base64,UEs="},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERg=="},  # no filename
        {"type": "input_image", "detail": "auto", "file_id": "file-unknown"},
    ]
    for part in bad:
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(model="gpt-test", input=[{"role": "user", "content": [part]}])


async def test_a_request_over_the_context_window_is_refused_as_openai_does_in_json_and_in_a_stream(
    fake: FakeOpenAI,
) -> None:
    fake.context_window = 10
    client = fake.client()
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model="gpt-test", input="word " * 100)
    assert refused.value.code == "context_length_exceeded" and refused.value.param == "input"

    fake.overflow_style = "response.failed"
    events = [e async for e in await client.responses.create(model="gpt-test", input="word " * 100, stream=True)]
    assert [e.type for e in events] == ["response.created", "response.in_progress", "response.failed"]
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "context_length_exceeded"

    fake.overflow_style = "error"
    agent = make_agent(fake, max_retries=0)
    with pytest.raises(ModelBehaviorError, match="context_length_exceeded"):
        async for _ in Runner.run_streamed(agent, "word " * 100, run_config=NO_TRACING).stream_events():
            pass
    await client.close()


async def test_the_prompt_cache_reports_the_longest_prefix_seen_before_with_the_same_key(fake: FakeOpenAI) -> None:
    fake.cache_min_tokens, fake.cache_step_tokens = 1, 1
    client = fake.client()
    first = await client.responses.create(
        model="gpt-test", instructions="Be brief.", input="hello " * 40, prompt_cache_key="k1"
    )
    again = await client.responses.create(
        model="gpt-test", instructions="Be brief.", input="more", previous_response_id=first.id, prompt_cache_key="k1"
    )
    other_key = await client.responses.create(
        model="gpt-test", instructions="Be brief.", input="more", previous_response_id=first.id, prompt_cache_key="k2"
    )
    assert first.usage is not None and again.usage is not None and other_key.usage is not None
    assert first.usage.input_tokens_details.cached_tokens == 0
    # Instructions and the first question were seen with this key; the answer and the new input were not.
    assert again.usage.input_tokens_details.cached_tokens == first.usage.input_tokens
    assert other_key.usage.input_tokens_details.cached_tokens == 0
    await client.close()


async def test_compaction_past_the_threshold_returns_a_compaction_item_that_stands_for_the_context(
    fake: FakeOpenAI,
) -> None:
    fake.compaction_keeps_turns = 1
    client = fake.client()
    management = [{"type": "compaction", "compact_threshold": 50}]
    first = await client.responses.create(model="gpt-test", input="word " * 30, context_management=management)
    second = await client.responses.create(
        model="gpt-test", input="short", previous_response_id=first.id, context_management=management
    )
    assert [item.type for item in first.output] == ["message"]  # under the threshold
    assert [item.type for item in second.output] == ["compaction", "message"]  # over it: compacted
    assert fake.requests[1].compacted and fake.requests[1].context == [("user", "short")]
    await client.responses.create(model="gpt-test", input="next", previous_response_id=second.id)
    assert fake.requests[2].context == [("user", "short"), ("assistant", "Reply 2: short"), ("user", "next")]
    await client.close()


async def test_a_parameter_the_reference_does_not_list_is_refused_as_openai_refuses_it(fake: FakeOpenAI) -> None:
    client = fake.client()
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model="gpt-test", input="hi", extra_body={"temprature": 0.2})
    assert refused.value.code == "unknown_parameter" and refused.value.param == "temprature"
    assert refused.value.body == {
        "message": "Unknown parameter: 'temprature'.",
        "type": "invalid_request_error",
        "param": "temprature",
        "code": "unknown_parameter",
    }
    with pytest.raises(openai.BadRequestError, match="Unknown parameter: 'title'") as refused:
        await client.conversations.create(extra_body={"title": "x"})
    assert refused.value.code == "unknown_parameter"
    await client.close()


async def test_images_and_file_inputs_over_the_documented_limits_are_refused() -> None:
    mb = 1024 * 1024
    for contents, expected in [
        ([("image", "input[0].content[0]", bytes(21 * mb))], "Image too large"),  # 20 MB an image
        ([("image", f"input[0].content[{i}]", bytes(18 * mb)) for i in range(3)], "Images total"),  # 50 MB a request
        ([("image", f"input[0].content[{i}]", b"x") for i in range(501)], "Too many images"),  # 500 a request
        ([("file", f"input[0].content[{i}]", bytes(17 * mb)) for i in range(2)], "File inputs total"),  # 32 MB
    ]:
        with pytest.raises(ApiError) as refused:
            check_input_limits(contents)
        assert refused.value.status == 400 and refused.value.body["error"]["message"].startswith(expected)
    check_input_limits([("image", "input[0].content[0]", bytes(20 * mb)), ("file", "x", bytes(32 * mb))])


async def test_a_body_over_the_request_limit_is_refused_with_413(fake: FakeOpenAI) -> None:
    fake.max_request_bytes = 1000
    with pytest.raises(openai.APIStatusError) as too_big:
        await fake.client().responses.create(model="gpt-test", input="x" * 2000)
    assert too_big.value.status_code == 413


@pytest.mark.parametrize("case", ["insufficient_quota", "tokens_per_min_request_too_large", "invalid_api_key"])
async def test_documented_errors_are_injected_as_openai_sends_them(fake: FakeOpenAI, case: str) -> None:
    status, body = documented_error(case)
    fake.fail_next(error=case)
    with pytest.raises(openai.APIStatusError) as raised:
        await fake.client().responses.create(model="gpt-test", input="hi")
    assert raised.value.status_code == status and raised.value.body == body["error"]
