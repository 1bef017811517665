"""Files as Slack takes them today: the three-step upload, its refusals, and the retired
`files.upload`, which Slack answers with `method_deprecated` (no app may use it since
2025-11-12)."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from slack_emulator import Channel
from tests.emulator.conftest import Running


async def test_files_upload_v2_shares_the_file_in_a_dm(running: Running) -> None:
    client = running.web_client()
    opened = await client.conversations_open(users="U0PAYER")
    answer = await client.files_upload_v2(
        file_uploads=[{"content": "a,b\n1,2\n", "filename": "x.csv", "title": "X"}],
        channel=opened["channel"]["id"],
        initial_comment="your records",
    )
    assert answer["ok"]
    dm = running.emulator.workspace.dm_with("U0PAYER")
    (shared,) = running.emulator.files.shared_in(dm.id)
    assert shared.content == b"a,b\n1,2\n" and shared.title == "X"
    (message,) = running.emulator.messages(dm.id)
    assert message.text == "your records" and message.files[0]["id"] == shared.id
    methods = [call.method for call in running.emulator.calls]
    assert methods == [
        "conversations.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


@pytest.mark.parametrize("where", ["U0PAYER", "#general"])
async def test_a_file_is_shared_to_a_conversations_id_only(running: Running, where: str) -> None:
    """Slack's files.completeUploadExternal takes C/G/D/Z ids: a user id (which
    chat.postMessage takes for the DM) or a #name is refused, and nothing is shared."""
    client = running.web_client()
    for sent in ({"channels": [where]}, {"channel": where}):
        with pytest.raises(SlackApiError) as refused:
            await client.files_upload_v2(content="a,b", filename="x.csv", **sent)
        assert refused.value.response["error"] == "invalid_arguments"
        (message,) = refused.value.response["response_metadata"]["messages"]
        assert "must match regex pattern: ^[CGDZ]" in message
    assert all(not f.channels for f in running.emulator.files.by_id.values())
    assert running.emulator.messages(running.emulator.workspace.dm_with("U0PAYER").id) == []


async def test_history_takes_a_conversations_id_not_a_users(running: Running) -> None:
    client = running.web_client()
    await client.chat_postMessage(channel="U0PAYER", text="hello")  # the DM, as Slack does
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_history(channel="U0PAYER")
    assert refused.value.response["error"] == "channel_not_found"
    dm = (await client.conversations_open(users="U0PAYER"))["channel"]["id"]
    (said,) = (await client.conversations_history(channel=dm))["messages"]
    assert said["text"] == "hello"


async def test_the_retired_files_upload_is_refused(running: Running) -> None:
    client = running.web_client()
    with pytest.raises(SlackApiError) as refused:
        await client.api_call(
            "files.upload", data={"channels": "C0GENERAL", "content": "a,b", "filename": "x.csv"}
        )
    assert refused.value.response["error"] == "method_deprecated"
    assert running.emulator.files.by_id == {}


async def test_completing_what_was_not_uploaded_or_sharing_where_the_bot_is_not(
    running: Running,
) -> None:
    client = running.web_client()
    with pytest.raises(SlackApiError) as unknown:
        await client.files_completeUploadExternal(files=[{"id": "F0NOPE"}])
    assert unknown.value.response["error"] == "file_not_found"

    issued = await client.files_getUploadURLExternal(filename="x.csv", length=3)
    with pytest.raises(SlackApiError) as empty:  # the bytes never arrived
        await client.files_completeUploadExternal(files=[{"id": issued["file_id"]}])
    assert empty.value.response["error"] == "file_not_found"

    ws = running.emulator.workspace
    ws.channels["C0SECRET"] = Channel("C0SECRET", "secret", ["U0PAYER"])
    ws.messages["C0SECRET"] = []
    with pytest.raises(SlackApiError) as outside:
        await client.files_upload_v2(content="abc", filename="x.csv", channel="C0SECRET")
    assert outside.value.response["error"] == "not_in_channel"

    with pytest.raises(SlackApiError) as bad:
        await client.files_getUploadURLExternal(filename="x.csv", length=0)
    assert bad.value.response["error"] == "invalid_arguments"
