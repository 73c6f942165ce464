"""The fake Responses API's tool answers, checked through the real openai client: shapes it parses, and the
refusal OpenAI gives when a chain would continue past a function call nobody answered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from fakes.openai import FakeOpenAI
from fakes.openai_tools import CallTool, Citation, SearchTheWeb


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def test_a_function_call_must_be_answered_before_the_chain_goes_on(fake: FakeOpenAI) -> None:
    client = fake.client()
    fake.reply_with(CallTool("lookup_ticket", {"ticket_id": "T-42"}))
    asked = await client.responses.create(model="gpt-test", input="what about T-42?")
    [call] = asked.output
    assert (call.type, call.name, call.arguments) == ("function_call", "lookup_ticket", '{"ticket_id": "T-42"}')

    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(model="gpt-test", input="never mind", previous_response_id=asked.id)
    assert refused.value.body == {
        "message": f"No tool output found for function call {call.call_id}.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }

    answer = [{"type": "function_call_output", "call_id": call.call_id, "output": "open"}]
    done = await client.responses.create(model="gpt-test", input=answer, previous_response_id=asked.id)
    assert done.status == "completed"
    await client.close()


async def test_a_streamed_web_search_answer_parses_with_its_citations(fake: FakeOpenAI) -> None:
    client = fake.client()
    fake.reply_with(SearchTheWeb("Paris is in France.", (Citation("https://fr.example", "France", "in France"),)))

    stream = await client.responses.create(model="gpt-test", input="where is Paris?", stream=True)
    events = [event async for event in stream]

    kinds = [e.type for e in events]
    assert kinds.index("response.web_search_call.in_progress") < kinds.index("response.web_search_call.completed")
    assert "response.output_text.annotation.added" in kinds
    final = events[-1].response
    search, message = final.output
    assert (search.type, search.status) == ("web_search_call", "completed")
    [citation] = message.content[0].annotations
    assert (citation.url, message.content[0].text[citation.start_index : citation.end_index]) == (
        "https://fr.example",
        "in France",
    )
    await client.close()
