"""Files in the fake Slack: file objects, `files.info`, and the bytes behind `url_private_download`.

What it encodes, from Slack's docs:
- The file object (https://docs.slack.dev/reference/objects/file-object): `id`, `name`, `title`, `mimetype`,
  `filetype`, `pretty_type`, `size`, `mode` (`hosted`, `snippet`, `external`, `tombstone`, `hidden_by_limit`),
  `url_private` and `url_private_download`.
- Downloading (https://docs.slack.dev/messaging/working-with-files): `url_private*` need
  `Authorization: Bearer <token>` with `files:read`. Without it Slack answers 200 with its HTML sign-in page:
  not in Slack's docs, but widely reported (gist.github.com/ErikKalkoken/f3ab28617d5099531ded865d111dbac1).
- Slack Connect (https://docs.slack.dev/apis/slack-connect/#check_file_info): file events carry only
  `{"id", "file_access": "check_file_info"}`; `files.info` gives the whole object, and history methods return
  whole objects.
- `files.info` (https://docs.slack.dev/reference/methods/files.info): `file_not_found`, `file_deleted`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


@dataclass
class _StoredFile:
    info: dict[str, Any]
    content: bytes
    downloads: int = 0


@dataclass
class SlackFiles:
    """Attached to a FakeSlack; `token` is the only bearer token the downloads accept."""

    team_id: str
    token: str = "xoxb-test-token"
    base_url: str = ""
    stored: dict[str, _StoredFile] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # ids whose download got the sign-in page
    _failures: dict[str, deque[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    _count: int = 0

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._download)
        app.router.add_get("/files-pri/{team_file}/{name}", self._download)

    # ---- test-side helpers

    def add(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str,
        filetype: str,
        pretty_type: str,
        mode: str = "hosted",
        size: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a file and return its object, as an event or history message carries it."""
        self._count += 1
        file_id = f"F{self._count:08d}"
        base = f"{self.base_url}/files-pri/{self.team_id}-{file_id}"
        info: dict[str, Any] = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": pretty_type,
            "size": len(content) if size is None else size,
            "mode": mode,
            "is_external": mode == "external",
            "url_private": f"{base}/{name}",
            "url_private_download": f"{base}/download/{name}",
            **extra,
        }
        self.stored[file_id] = _StoredFile(info, content)
        return dict(info)

    def downloads(self, file_id: str) -> int:
        return self.stored[file_id].downloads

    def delete(self, file_id: str) -> None:
        """The file is deleted: files.info says so and its URL answers 404."""
        self.stored[file_id].info["mode"] = "tombstone"

    def fail_download_next(
        self, file_id: str, status: int, *, count: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        self._failures.setdefault(file_id, deque()).extend([(status, headers or {})] * count)

    @staticmethod
    def hash_of(content: bytes) -> str:
        """How the fake OpenAI names a file it saw (the same function on both sides)."""
        return hashlib.sha256(content).hexdigest()[:12]

    # ---- Web API method

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        from .slack.errors import SlackError

        stored = self.stored.get(str(args.get("file") or ""))
        if stored is None:
            raise SlackError("file_not_found")
        if stored.info.get("mode") == "tombstone":
            raise SlackError("file_deleted")
        return {"file": dict(stored.info)}

    # ---- downloads

    async def _download(self, request: web.Request) -> web.StreamResponse:
        _team, _, file_id = request.match_info["team_file"].partition("-")
        stored = self.stored.get(file_id)
        if stored is None or stored.info.get("mode") == "tombstone":
            return web.Response(status=404, text="Not found", content_type="text/html")
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            self.refused.append(file_id)
            return web.Response(body=SIGN_IN_PAGE, content_type="text/html")  # 200, as Slack does
        failures = self._failures.get(file_id)
        if failures:
            status, headers = failures.popleft()
            return web.Response(status=status, headers=headers, text="error")
        stored.downloads += 1
        response = web.StreamResponse(headers={"Content-Type": str(stored.info["mimetype"])})
        response.content_length = len(stored.content)
        await response.prepare(request)
        for start in range(0, len(stored.content), 64 * 1024):
            await response.write(stored.content[start : start + 64 * 1024])
        await response.write_eof()
        return response
