"""Files in the fake OpenAI: the Files API upload, and the image and file inputs of a Responses request.

What it encodes, from OpenAI's docs:
- `POST /v1/files` (https://platform.openai.com/docs/api-reference/files/create): multipart `file` and `purpose`
  (one of assistants, batch, fine-tune, vision, user_data, evals), optional `expires_after[anchor]=created_at`
  and `expires_after[seconds]` (3600 to 2592000); answers a File object (`id` "file-…", `bytes`, `filename`...).
- `input_image` (https://platform.openai.com/docs/guides/images-vision): `image_url` (a URL or a base64 data
  URL of PNG, JPEG, WEBP or non-animated GIF) or `file_id`, and `detail`.
- `input_file` (https://platform.openai.com/docs/guides/file-inputs): one of `file_data` (base64 data URL, with
  `filename`), `file_id` or `file_url`.
The exact wording and `param` of OpenAI's 400s for a malformed part are not documented; these are close.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class InputFileError(Exception):
    """A file part OpenAI would refuse with HTTP 400."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass
class Upload:
    id: str
    filename: str
    purpose: str
    content: bytes
    expires_after_seconds: int | None


@dataclass
class OpenAIFiles:
    uploads: dict[str, Upload] = field(default_factory=dict)
    take_failure: Callable[[], Any] = lambda: None  # a failure queued by a test (FakeOpenAI.fail_next), or None
    upload_requests: int = 0

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._create)
        app.router.add_delete("/v1/files/{id}", self._delete)

    @staticmethod
    def hash_of(content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()[:12]

    def hashes_in(self, items: list[dict[str, Any]]) -> list[str]:
        """The files (as hashes of their bytes) that input items carry, in order; refuses malformed parts."""
        return [self.hash_of(content) for _kind, _where, content in self.contents_in(items)]

    def contents_in(self, items: list[dict[str, Any]]) -> Iterator[tuple[str, str, bytes]]:
        """(kind "image" or "file", where, bytes) of each image and file part, in order; refuses malformed parts."""
        for i, item in enumerate(items):
            content = item.get("content")
            if not isinstance(content, list):
                continue
            for j, part in enumerate(content):
                where = f"input[{i}].content[{j}]"
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "input_image":
                    yield "image", where, self._image(part, where)
                elif part.get("type") == "input_file":
                    yield "file", where, self._file(part, where)

    def _image(self, part: dict[str, Any], where: str) -> bytes:
        if part.get("file_id"):
            return self._uploaded(str(part["file_id"]), f"{where}.file_id")
        url = str(part.get("image_url") or "")
        mime, data = _data_url(url, f"{where}.image_url")
        if mime not in IMAGE_TYPES:
            raise InputFileError(f"Invalid image format {mime!r}: use PNG, JPEG, WEBP or GIF.", f"{where}.image_url")
        return data

    def _file(self, part: dict[str, Any], where: str) -> bytes:
        given = [k for k in ("file_data", "file_id", "file_url") if part.get(k)]
        if len(given) != 1:
            raise InputFileError("Provide exactly one of file_data, file_id or file_url.", where)
        if given == ["file_id"]:
            return self._uploaded(str(part["file_id"]), f"{where}.file_id")
        if given == ["file_url"]:
            raise InputFileError("The fake does not fetch file URLs.", f"{where}.file_url")
        if not part.get("filename"):
            raise InputFileError("Missing required parameter: 'filename'.", f"{where}.filename")
        return _data_url(str(part["file_data"]), f"{where}.file_data")[1]

    def _uploaded(self, file_id: str, param: str) -> bytes:
        upload = self.uploads.get(file_id)
        if upload is None:
            raise InputFileError(f"File '{file_id}' not found.", param)
        return upload.content

    async def _create(self, request: web.Request) -> web.Response:
        from .openai.contract import accepted_parameters  # here: the package imports this module

        self.upload_requests += 1
        form = await request.post()
        failure = self.take_failure()
        if failure is not None:
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        for key in form:  # multipart names: file, purpose, expires_after[anchor], expires_after[seconds]
            if key.split("[")[0] not in accepted_parameters("files.create"):
                error = _error(f"Unknown parameter: '{key}'.", key)
                error["error"]["code"] = "unknown_parameter"
                return web.json_response(error, status=400)
        upload = form.get("file")
        purpose = str(form.get("purpose") or "")
        if not isinstance(upload, web.FileField):
            return _bad("Missing required parameter: 'file'.", "file")
        if purpose not in PURPOSES:
            return _bad(f"Invalid value for 'purpose': {purpose!r}.", "purpose")
        seconds = form.get("expires_after[seconds]")
        if seconds is not None and not 3600 <= int(str(seconds)) <= 2_592_000:
            return _bad("expires_after.seconds must be between 3600 and 2592000.", "expires_after.seconds")
        stored = Upload(
            "file-" + secrets.token_hex(11),
            upload.filename,
            purpose,
            upload.file.read(),
            int(str(seconds)) if seconds is not None else None,
        )
        self.uploads[stored.id] = stored
        created = int(time.time())
        return web.json_response(
            {
                "id": stored.id,
                "object": "file",
                "bytes": len(stored.content),
                "created_at": created,
                "expires_at": created + stored.expires_after_seconds if stored.expires_after_seconds else None,
                "filename": stored.filename,
                "purpose": purpose,
                "status": "processed",
            }
        )

    async def _delete(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        if self.uploads.pop(file_id, None) is None:
            return web.json_response(_error(f"No such File object: {file_id}", "id"), status=404)
        return web.json_response({"id": file_id, "object": "file", "deleted": True})


def _data_url(url: str, param: str) -> tuple[str, bytes]:
    header, comma, payload = url.partition(",")
    if not url.startswith("data:") or not comma or not header.endswith(";base64"):
        raise InputFileError("Expected a base64-encoded data URL.", param)
    try:
        return header[len("data:") : -len(";base64")], base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise InputFileError("Invalid base64 data.", param) from None


def _error(message: str, param: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def _bad(message: str, param: str) -> web.Response:
    return web.json_response(_error(message, param), status=400)
