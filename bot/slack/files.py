"""Files people share in Slack, as model input: an image, a PDF, text, or a note saying why not.

The one place files become input parts, for live turns and rebuilds alike. Downloads use the bot token
(https://docs.slack.dev/messaging/working-with-files), stream with a size cap and a timeout,
and never log a URL or a byte of content.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import openai
from openai import AsyncOpenAI
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import retry_after_seconds
from bot.slack.file_limits import IMAGE_MAX_BYTES, within_request_limits

logger = logging.getLogger(__name__)

Part = dict[str, Any]
Kind = Literal["image", "pdf", "text"]
MB = 1024 * 1024
CHUNK_BYTES = 64 * 1024
DOWNLOAD_RETRIES = 2
DOWNLOADS_AT_ONCE = 4  # per process: a burst of shared files does not open dozens of downloads from Slack at once
MAX_RETRY_WAIT_SECONDS = 10.0
UPLOAD_SIZES_KEPT = 10_000
# Uploaded files are kept as long as the stored responses that point at them (OpenAI's 30 days), no longer.
UPLOAD_TTL_SECONDS = 30 * 86400

# Image formats the Responses API accepts (https://platform.openai.com/docs/guides/images-vision).
IMAGE_MIMETYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT_MIMETYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/javascript",
        "application/x-sh",
        "application/sql",
        "application/x-python",
    }
)
# Slack's `filetype` of text and code files (snippets carry these with `text/plain` or no mimetype).
_TEXT_FILETYPE_WORDS = (
    "text markdown post csv tsv json yaml xml log diff patch html css javascript typescript python go rust java"
    " kotlin swift scala c cpp csharp objc ruby php perl lua r shell powershell bat sql dockerfile toml ini"
    " haskell clojure elixir erlang groovy matlab ocaml fsharp vb verilog vhdl apex"
)
TEXT_FILETYPES = frozenset(_TEXT_FILETYPE_WORDS.split())


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = 20 * MB  # MAX_FILE_MB: bigger files are named, not read
    inline_max_bytes: int = 4 * MB  # images and PDFs up to this go inline as base64; bigger ones are uploaded
    uploads_allowed: bool = True  # False where nothing may be stored at OpenAI (zero data retention)
    rebuild_max_visual: int = 5  # HISTORY_MAX_IMAGES: images and PDFs a rebuilt conversation sends again
    download_timeout_seconds: float = 60.0


class NotReadable(Exception):
    """Why a file cannot reach the model, in words the model can pass on."""


def kind_of(file: Mapping[str, Any]) -> Kind | None:
    mimetype = str(file.get("mimetype") or "").lower().split(";")[0].strip()
    filetype = str(file.get("filetype") or "").lower()
    if mimetype in IMAGE_MIMETYPES:
        return "image"
    if mimetype == "application/pdf" or filetype == "pdf":
        return "pdf"
    if mimetype.startswith("text/") or mimetype in TEXT_MIMETYPES or filetype in TEXT_FILETYPES:
        return "text"
    if file.get("mode") == "snippet":
        return "text"
    return None


def describe(file: Mapping[str, Any]) -> str:
    """`NAME (TYPE, SIZE)`, as the model is told about a file."""
    name = file.get("name") or file.get("title") or file.get("id") or "unnamed"
    kind = file.get("pretty_type") or file.get("filetype") or file.get("mimetype") or "unknown type"
    size = file.get("size")
    return f"{name} ({kind}, {human_size(size)})" if isinstance(size, int) else f"{name} ({kind})"


def human_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def not_readable_note(file: Mapping[str, Any], why: str) -> Part:
    return {"type": "input_text", "text": f"[file {describe(file)} not readable: {why}]"}


def check_readable(file: Mapping[str, Any], max_bytes: int) -> Kind:
    """The file's kind, or NotReadable before anything is downloaded (the file object says enough)."""
    mode = file.get("mode")
    if mode == "tombstone":
        raise NotReadable("it was deleted")
    if mode == "hidden_by_limit":
        raise NotReadable("hidden by the workspace's plan limits")
    if file.get("file_access") == "access_denied":
        raise NotReadable("the bot has no access to it")
    if mode == "external" or file.get("is_external"):
        raise NotReadable("it is stored outside Slack, where the bot cannot open it")
    kind = kind_of(file)
    if kind is None:
        raise NotReadable("the bot reads images, PDFs, text and code files only")
    size = file.get("size")
    if isinstance(size, int) and size > max_bytes:
        raise NotReadable(f"larger than the {max_bytes // MB} MB limit")
    if kind == "image" and isinstance(size, int) and size > IMAGE_MAX_BYTES:
        raise NotReadable(f"larger than the {IMAGE_MAX_BYTES // MB} MB OpenAI takes for an image")
    if not (file.get("url_private_download") or file.get("url_private")):
        raise NotReadable("Slack gave no link to download it")
    return kind


class FileReader:
    """Turns Slack file objects into input parts: images as `input_image`, PDFs as `input_file`, text inline."""

    def __init__(
        self,
        *,
        slack: AsyncWebClient,
        token: str,
        openai_client: AsyncOpenAI,
        limits: FileLimits,
    ) -> None:
        self._client = slack
        self._token = token
        self._openai = openai_client
        self.limits = limits
        self._api_host = urlsplit(slack.base_url).hostname or ""
        self._downloads = asyncio.Semaphore(DOWNLOADS_AT_ONCE)
        # Sizes of the files this process uploaded, so that a request's files can be counted against OpenAI's
        # per-request limits (a file_id says nothing of its size); the newest UPLOAD_SIZES_KEPT only.
        self._uploaded_sizes: OrderedDict[str, int] = OrderedDict()

    def within_request_limits(self, items: list[Part]) -> list[Part]:
        """`items` with the images and PDFs that would take one request past OpenAI's limits named instead,
        the oldest first (file_limits.py)."""
        return within_request_limits(items, self._uploaded_sizes)

    async def parts_of(self, files: Sequence[Mapping[str, Any]], *, text_budget: int) -> list[Part]:
        """Every file of one message, in order; text files share `text_budget` characters."""
        resolved = await asyncio.gather(*(self._resolve(f) for f in files))
        return [p for parts in await self._read_all(list(resolved), text_budget) for p in parts]

    async def parts_for_rebuild(
        self, messages: Sequence[Mapping[str, Any]], *, text_budget: int
    ) -> dict[str, list[Part]]:
        """The files of a rebuilt conversation by id, the newest first within the cap on images and PDFs and
        `text_budget` characters; older ones are named, not read. History gives whole file objects."""
        max_visual = self.limits.rebuild_max_visual
        people = [m for m in messages if m.get("user") and not m.get("bot_id")]  # bots' files are not sent
        newest_first = [f for m in reversed(people) for f in reversed(m.get("files") or []) if f.get("id")]
        # A Slack Connect stub in history is looked up as in a live turn (files.info), not called unreadable.
        newest_first = list(await asyncio.gather(*(self._resolve(f) for f in newest_first)))
        chosen: list[Mapping[str, Any]] = []
        notes: dict[str, list[Part]] = {}
        visual = 0
        for file in newest_first:
            if kind_of(file) in ("image", "pdf"):
                visual += 1
                if visual > max_visual:
                    why = f"only the newest {max_visual} images and PDFs are sent again"
                    notes[file["id"]] = [not_readable_note(file, why)]
                    continue
            chosen.append(file)
        read = await self._read_all(chosen, text_budget)
        return {**notes, **{f["id"]: parts for f, parts in zip(chosen, read, strict=True)}}

    # -- reading

    async def _read_all(self, files: list[Mapping[str, Any]], text_budget: int) -> list[list[Part]]:
        contents = await asyncio.gather(*(self._download_checked(f) for f in files))
        parts: list[list[Part]] = []
        for file, content in zip(files, contents, strict=True):
            if isinstance(content, NotReadable):
                parts.append([not_readable_note(file, str(content))])
                continue
            kind = check_readable(file, self.limits.max_bytes)
            if kind == "text":
                part = text_part(file, content, text_budget)
                text_budget -= len(part["text"])
                parts.append([part])
            else:
                parts.append(await self._visual_parts(file, content, kind))
        return parts

    async def _resolve(self, file: Mapping[str, Any]) -> Mapping[str, Any]:
        """Slack Connect files arrive in events as a stub to look up with files.info
        (https://docs.slack.dev/apis/slack-connect/#check_file_info)."""
        if file.get("file_access") != "check_file_info" or not file.get("id"):
            return file
        try:
            response = await self._client.files_info(file=file["id"])
        except SlackApiError as error:
            code = error.response.get("error")
            return {**file, "file_access": "access_denied", "error": code}
        return response.get("file") or file

    async def _download_checked(self, file: Mapping[str, Any]) -> bytes | NotReadable:
        try:
            kind = check_readable(file, self.limits.max_bytes)
            async with self._downloads:
                content = await self._download(str(file.get("url_private_download") or file.get("url_private")), file)
            if kind == "image" and len(content) > IMAGE_MAX_BYTES:  # Slack's `size` said less
                raise NotReadable(f"larger than the {IMAGE_MAX_BYTES // MB} MB OpenAI takes for an image")
            if kind == "image" and file.get("mimetype") == "image/gif" and is_animated_gif(content):
                raise NotReadable("an animated GIF, which the model does not take")
            return content
        except NotReadable as why:
            return why

    async def _download(self, url: str, file: Mapping[str, Any]) -> bytes:
        if not self._is_slack(url):
            raise NotReadable("its link is not on Slack, so the bot does not send its token there")
        timeout = aiohttp.ClientTimeout(total=self.limits.download_timeout_seconds)
        headers = {"Authorization": f"Bearer {self._token}"}
        file_id = file.get("id")
        for attempt in range(DOWNLOAD_RETRIES + 1):
            try:
                async with self._client.session.get(url, headers=headers, timeout=timeout) as response:
                    if response.status == 429 or response.status >= 500:
                        if attempt < DOWNLOAD_RETRIES:
                            wait = min(retry_after_seconds(response.headers), MAX_RETRY_WAIT_SECONDS)
                            logger.info("Slack answered %d to the download of %s; retrying", response.status, file_id)
                            await asyncio.sleep(wait)
                            continue
                        raise NotReadable(f"Slack answered HTTP {response.status} to the download, several times")
                    if response.status == 404:
                        raise NotReadable("Slack says it no longer exists")
                    if response.status != 200:
                        raise NotReadable(f"Slack refused the download (HTTP {response.status})")
                    if response.content_type == "text/html" and file.get("mimetype") != "text/html":
                        # Slack's answer to a token without files:read: its sign-in page, with status 200.
                        logger.warning(
                            "Slack sent a sign-in page for file %s: is the files:read scope missing?", file_id
                        )
                        raise NotReadable("Slack would not let the bot download it")
                    return await self._capped(response)
            except TimeoutError:
                raise NotReadable("the download timed out") from None
            except aiohttp.ClientError as error:
                logger.info("Could not download file %s: %s", file_id, type(error).__name__)
                raise NotReadable("the download failed") from None
        raise NotReadable("the download failed")  # not reached: the loop returns or raises

    async def _capped(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, never holding more than the cap in memory."""
        limit = self.limits.max_bytes
        too_big = NotReadable(f"larger than the {limit // MB} MB limit")
        if response.content_length is not None and response.content_length > limit:
            raise too_big
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise too_big
        return bytes(body)

    def _is_slack(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        slack_domains = ("slack.com", "slack-gov.com", "slack-edge.com")
        return host == self._api_host or any(host == d or host.endswith("." + d) for d in slack_domains)

    # -- images and PDFs

    async def _visual_parts(self, file: Mapping[str, Any], content: bytes, kind: Kind) -> list[Part]:
        label = {"type": "input_text", "text": f"[file {describe(file)}]"}
        mimetype = "application/pdf" if kind == "pdf" else str(file.get("mimetype"))
        file_id = await self._upload(file, content, mimetype) if self._should_upload(content) else None
        if kind == "image":
            source = {"file_id": file_id} if file_id else {"image_url": data_url(mimetype, content)}
            return [label, {"type": "input_image", "detail": "auto", **source}]
        name = str(file.get("name") or "document.pdf")
        source = {"file_id": file_id} if file_id else {"filename": name, "file_data": data_url(mimetype, content)}
        return [label, {"type": "input_file", **source}]

    def _should_upload(self, content: bytes) -> bool:
        return self.limits.uploads_allowed and len(content) > self.limits.inline_max_bytes

    async def _upload(self, file: Mapping[str, Any], content: bytes, mimetype: str) -> str | None:
        """A big file goes to the Files API once, so the request stays small; inline if that fails."""
        name = str(file.get("name") or file.get("id") or "file")
        try:
            uploaded = await self._openai.files.create(
                file=(name, content, mimetype),
                purpose="user_data",
                expires_after={"anchor": "created_at", "seconds": UPLOAD_TTL_SECONDS},
            )
        except openai.OpenAIError as error:
            logger.warning("Could not upload file %s to OpenAI (%s); sending it inline", file.get("id"), error)
            return None
        self._uploaded_sizes[uploaded.id] = len(content)
        while len(self._uploaded_sizes) > UPLOAD_SIZES_KEPT:
            self._uploaded_sizes.popitem(last=False)
        return uploaded.id


def text_part(file: Mapping[str, Any], content: bytes, budget: int) -> Part:
    """A text or code file as text the model reads, named by its file name, cut to `budget` characters."""
    if b"\x00" in content[:8192]:
        return not_readable_note(file, "it is not text")
    text = content.decode("utf-8-sig", errors="replace")
    header = f"[file {describe(file)}]\n```\n"
    footer = "\n```"
    room = budget - len(header) - len(footer) - 80
    if room <= 0:
        return not_readable_note(file, "no room left in this conversation's budget")
    if len(text) > room:
        text = text[:room] + f"\n[… cut: the first {room:,} of {len(text):,} characters]"
    return {"type": "input_text", "text": header + text + footer}


def data_url(mimetype: str, content: bytes) -> str:
    return f"data:{mimetype};base64,{base64.b64encode(content).decode('ascii')}"


def is_animated_gif(content: bytes) -> bool:
    """More than one graphic control extension: more than one frame (OpenAI takes non-animated GIFs only)."""
    return content.count(b"\x21\xf9\x04") > 1
