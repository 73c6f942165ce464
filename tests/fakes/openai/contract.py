"""What the fake OpenAI refuses because the real API does: parameters its reference does not list, and the
documented size limits of images, file inputs and requests.

Parameter names come from tests/contract/openai_endpoints.json (derived from openai/openai-openapi by
tests/contract/derive_openai.py). OpenAI refuses a name it does not know with HTTP 400, `code: unknown_parameter`,
`param` the name, message "Unknown parameter: 'NAME'." (quoted in pydantic/pydantic-ai#3653,
teabranch/open-responses-server#41, 1jehuang/jcode#1028). Size limits: the `guide_limits` of the same file.
The status and body OpenAI gives for a part over a size limit are not documented; a 400 naming the part is
assumed here, and a body over the request limit gets 413 (the status HTTP servers use; OpenAI documents none).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .wire import JSON, ApiError, error_body

CATALOGUE = Path(__file__).resolve().parents[2] / "contract" / "openai_endpoints.json"
MB = 1024 * 1024


@cache
def catalogue() -> dict[str, Any]:
    return json.loads(CATALOGUE.read_text())


def limit(name: str) -> int:
    return int(catalogue()["guide_limits"][name]["value"])


def accepted_parameters(endpoint: str) -> frozenset[str]:
    return frozenset(catalogue()["endpoints"][endpoint]["parameters"])


def check_parameters(endpoint: str, body: JSON, refused: set[str] | frozenset[str] = frozenset()) -> None:
    """400 `unknown_parameter` for the first name the endpoint does not accept (or that a test marks refused,
    as a gateway that does not forward it answers)."""
    accepted = accepted_parameters(endpoint) - refused
    for name in sorted(body):
        if name not in accepted:
            raise unknown_parameter(name)


def unknown_parameter(name: str) -> ApiError:
    return ApiError(
        400, error_body(f"Unknown parameter: '{name}'.", "invalid_request_error", name, "unknown_parameter")
    )


def check_request_size(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        message = f"Request body too large: {size} bytes; the limit is {max_bytes} bytes."
        raise ApiError(413, error_body(message, "invalid_request_error", None, "request_too_large"))


def check_input_limits(contents: list[tuple[str, str, bytes]]) -> None:
    """`contents`: (kind "image" or "file", param, bytes) of each image and file part of one request."""
    images = [(param, data) for kind, param, data in contents if kind == "image"]
    files = [data for kind, _param, data in contents if kind == "file"]
    for param, data in images:
        if len(data) > limit("image_max_bytes"):
            message = f"Image too large: {len(data)} bytes; images may be up to {limit('image_max_bytes') // MB} MB."
            raise ApiError(400, error_body(message, "invalid_request_error", param, "image_file_too_large"))
    if len(images) > limit("images_per_request"):
        message = f"Too many images: {len(images)}; up to {limit('images_per_request')} per request."
        raise ApiError(400, error_body(message, "invalid_request_error", "input", None))
    image_bytes = sum(len(data) for _param, data in images)
    if image_bytes > limit("image_bytes_per_request"):
        message = f"Images total {image_bytes} bytes; up to {limit('image_bytes_per_request') // MB} MB per request."
        raise ApiError(400, error_body(message, "invalid_request_error", "input", None))
    file_bytes = sum(len(data) for data in files)
    if file_bytes > limit("file_input_bytes_per_request"):
        message = (
            f"File inputs total {file_bytes} bytes; up to {limit('file_input_bytes_per_request') // MB} MB "
            "of content per request."
        )
        raise ApiError(400, error_body(message, "invalid_request_error", "input", None))
