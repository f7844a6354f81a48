"""The clone in the real `one-bot chat` console, piped: offline, and with a local model."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.e2e.harness import free_port
from tests.llm_server import LocalLLMServer

ONE_BOT = Path(sys.executable).with_name("one-bot")

SESSION = """\
/as Alice
/register Alice Smith | alice@example.com | fitness
/clone gate 0
/clone persona Calm and practical.
/knowledge add I run every Tuesday and Thursday at 6am, always with a friend.
/file {notes}
/as Bob
/ask alice when do you run?
/chat alice
who do you run with?
/end
"""


async def run_console(tmp_path: Path, **env: str) -> str:
    notes = tmp_path / "recovery.md"
    notes.write_text("# Recovery\n\nAfter long runs I sleep nine hours and eat rice.\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ONE_BOT__")}
    environ |= {
        "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "ONE_BOT__CHAIN__MNEMONIC": "test test test test test test test test test test test junk",
        "ONE_BOT__WEB__PORT": str(free_port()),
        "ONE_BOT__LOGGING__LEVEL": "WARNING",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        str(ONE_BOT),
        "chat",
        cwd=tmp_path,
        env=environ,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdin = SESSION.format(notes=notes).encode()
    out, err = await asyncio.wait_for(process.communicate(stdin), 90)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_the_console_clone_answers_offline_from_typed_and_sent_knowledge(
    tmp_path: Path,
) -> None:
    out = await run_console(tmp_path)
    assert "✅ Learned #" in out
    assert "“recovery.md”" in out
    assert "📚 Offline answer: no AI model is connected, so here is what @alice wrote" in out
    assert "“I run every Tuesday and Thursday at 6am, always with a friend.”" in out
    assert "💬 You're chatting with @alice's AI clone." in out
    assert "👋 Your chat with @alice's clone has ended." in out


async def test_the_console_clone_streams_a_model_answer(tmp_path: Path) -> None:
    async with LocalLLMServer() as llm:
        llm.script("I run at 6am ", chunks=["I run ", "at 6am "], token_delay=0.3)
        llm.script("With my friend Sam.", chunks=["With my ", "friend Sam."], token_delay=0.3)
        out = await run_console(
            tmp_path,
            ONE_BOT__LLM__BASE_URL=llm.base_url,
            ONE_BOT__LLM__MODEL="local-chat",
        )
        assert len(llm.chat_requests) == 2
        second = llm.chat_requests[1].body["messages"]
    # The answer grows in place: its pieces are printed one after the other.
    assert "I run at 6am" in out
    assert "With my friend Sam." in out
    assert "(edited)" not in out[out.index("Bob> /ask") :]
    assert "Calm and practical." in second[0]["content"]
    assert "who do you run with?" in second[-1]["content"]
    assert "when do you run?" in second[1]["content"]  # the /ask turn is in the history
