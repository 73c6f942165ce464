"""OpenAI's limits on the images and PDFs of one request, and how a request is kept within them: the newest files
stay, older ones become a short "not readable" note.

Documented limits (tests/contract/openai_endpoints.json, `guide_limits`, with sources):
- images: up to 20 MB each, up to 500 per request, up to 50 MB of image bytes per request
  (https://platform.openai.com/docs/guides/images-vision, "Image input requirements");
- file inputs (PDFs): up to 32 MB of content and 100 pages per request, across all file inputs
  (https://platform.openai.com/docs/guides/pdf-files, "File size limitations").
OpenAI documents no limit on the request body itself; base64 data sent inline is kept under the smaller content
limit (32 MB), so a request never carries much more than the documented content.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MB = 1024 * 1024
IMAGE_MAX_BYTES = 20 * MB
IMAGES_PER_REQUEST = 500
IMAGE_BYTES_PER_REQUEST = 50 * MB
FILE_BYTES_PER_REQUEST = 32 * MB
INLINE_BYTES_PER_REQUEST = 32 * MB
MAX_FILE_MB = FILE_BYTES_PER_REQUEST // MB  # the largest MAX_FILE_MB that can ever reach the model

Item = dict[str, Any]
TOO_MUCH = "more images and PDFs than OpenAI takes in one request came with this conversation; the newer ones were sent"


class _Budget:
    def __init__(self) -> None:
        self.images = 0
        self.image_bytes = 0
        self.file_bytes = 0
        self.inline_bytes = 0

    def take(self, part: Mapping[str, Any], size: int) -> bool:
        """Whether `part` still fits; counts it when it does."""
        image = part.get("type") == "input_image"
        inline = "image_url" in part or "file_data" in part
        if image and (self.images + 1 > IMAGES_PER_REQUEST or self.image_bytes + size > IMAGE_BYTES_PER_REQUEST):
            return False
        if not image and self.file_bytes + size > FILE_BYTES_PER_REQUEST:
            return False
        if inline and self.inline_bytes + size > INLINE_BYTES_PER_REQUEST:
            return False
        if image:
            self.images += 1
            self.image_bytes += size
        else:
            self.file_bytes += size
        if inline:
            self.inline_bytes += size
        return True


def part_bytes(part: Mapping[str, Any], uploaded_sizes: Mapping[str, int]) -> int:
    """The file's size: from its base64 data URL, or as it was uploaded (0 when unknown)."""
    data = part.get("image_url") or part.get("file_data")
    if isinstance(data, str) and data.startswith("data:"):
        encoded = len(data) - data.find(",") - 1  # no copy of what may be megabytes of base64
        return encoded * 3 // 4 - data[-2:].count("=")
    return uploaded_sizes.get(str(part.get("file_id") or ""), 0)


def within_request_limits(items: list[Item], uploaded_sizes: Mapping[str, int]) -> list[Item]:
    """`items` with every image and PDF that would take the request past OpenAI's limits replaced by a note,
    the oldest first; items and parts that stay are returned as they are."""
    budget = _Budget()
    out: list[Item] = []
    for item in reversed(items):
        content = item.get("content")
        if not isinstance(content, list) or not any(_is_file(p) for p in content):
            out.append(item)
            continue
        kept: list[Any] = []
        dropped = False
        for part in reversed(content):
            if _is_file(part) and not budget.take(part, part_bytes(part, uploaded_sizes)):
                dropped = True
                kept.append(None)  # marks where the file was; its label (just before it) becomes the note
                continue
            kept.append(part)
        out.append({**item, "content": _with_notes(kept[::-1])} if dropped else item)
    return out[::-1]


def _with_notes(parts: list[Any]) -> list[Any]:
    out: list[Any] = []
    for part in parts:
        if part is not None:
            out.append(part)
        elif out and _is_label(out[-1]):
            out[-1] = {"type": "input_text", "text": f"{out[-1]['text'][:-1]} not readable: {TOO_MUCH}]"}
        else:
            out.append({"type": "input_text", "text": f"[a file not readable: {TOO_MUCH}]"})
    return out


def _is_file(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("type") in ("input_image", "input_file")


def _is_label(part: Any) -> bool:
    text = part.get("text") if isinstance(part, Mapping) and part.get("type") == "input_text" else None
    return isinstance(text, str) and text.startswith("[file ") and text.endswith("]")
