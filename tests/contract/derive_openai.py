"""Derive the names-only OpenAI contract table (openai_endpoints.json) from OpenAI's public OpenAPI spec.

    python tests/contract/derive_openai.py /path/to/openai-openapi [--commit SHA]

The spec is openai/openai-openapi's `openapi.json` (bring the repository with git). Only names are kept:
each endpoint's accepted request parameters, which are required, documented numeric limits (maxItems,
minimum/maximum), and the documented HTTP statuses; plus the Responses API's error codes. Limits that live in
OpenAI's guides rather than the spec, and the documented errors with what the bot does, are listed by hand
below with their source.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
HERE = Path(__file__).parent
OUT = HERE / "openai_endpoints.json"

# The endpoints the bot calls: name -> (method, path, request schema or inline body's location).
ENDPOINTS = {
    "responses.create": ("post", "/responses"),
    "responses.retrieve": ("get", "/responses/{response_id}"),
    "responses.delete": ("delete", "/responses/{response_id}"),  # python -m bot doctor's round trip
    "conversations.create": ("post", "/conversations"),
    "conversations.items.create": ("post", "/conversations/{conversation_id}/items"),
    "conversations.delete": ("delete", "/conversations/{conversation_id}"),
    "files.create": ("post", "/files"),
    "chat.completions.create": ("post", "/chat/completions"),  # OPENAI_API=chat_completions (local memory)
}

# Limits documented in OpenAI's guides, not in the spec (names and numbers only).
GUIDE_LIMITS = {
    "image_max_bytes": {
        "value": 20 * 1024 * 1024,
        "source": "https://platform.openai.com/docs/guides/images-vision (Image input requirements: up to 20 MB "
        "per image)",
    },
    "images_per_request": {
        "value": 500,
        "source": "https://platform.openai.com/docs/guides/images-vision (up to 500 individual images per request)",
    },
    "image_bytes_per_request": {
        "value": 50 * 1024 * 1024,
        "source": "https://platform.openai.com/docs/guides/images-vision (up to 50 MB of image bytes per request)",
    },
    "file_input_bytes_per_request": {
        "value": 32 * 1024 * 1024,
        "source": "https://platform.openai.com/docs/guides/pdf-files (File size limitations: up to 100 pages and "
        "32 MB of total content in a single request, across multiple file inputs)",
    },
    "file_input_pages_per_request": {
        "value": 100,
        "source": "https://platform.openai.com/docs/guides/pdf-files (File size limitations)",
    },
    "image_types": {
        "value": ["image/png", "image/jpeg", "image/webp", "image/gif (not animated)"],
        "source": "https://platform.openai.com/docs/guides/images-vision",
    },
    "files_upload_max_bytes": {
        "value": 512 * 1024 * 1024,
        "source": "openapi.json createFile description (individual files can be up to 512 MB)",
    },
    "request_body_bytes": {
        "value": None,
        "source": "not documented by OpenAI; see tests/contract/OPENAI.md",
    },
}

# The documented errors of the model requests, from https://platform.openai.com/docs/guides/error-codes (API
# errors and the Python library's classes), the spec's ResponseErrorCode, and the issue threads cited in
# OPENAI.md for the shapes OpenAI sends. `case` names the parametrised test case.
DOCUMENTED_ERRORS = [
    {"case": "bad_request", "status": 400, "type": "invalid_request_error", "code": None},
    {"case": "unknown_parameter", "status": 400, "type": "invalid_request_error", "code": "unknown_parameter"},
    {
        "case": "context_length_exceeded",
        "status": 400,
        "type": "invalid_request_error",
        "code": "context_length_exceeded",
    },
    {
        "case": "previous_response_not_found",
        "status": 400,
        "type": "invalid_request_error",
        "code": "previous_response_not_found",
    },
    {"case": "invalid_api_key", "status": 401, "type": "invalid_request_error", "code": "invalid_api_key"},
    {
        "case": "unsupported_country",
        "status": 403,
        "type": "request_forbidden",
        "code": "unsupported_country_region_territory",
    },
    {"case": "not_found", "status": 404, "type": "invalid_request_error", "code": None},
    {"case": "conflict", "status": 409, "type": "invalid_request_error", "code": None},
    {"case": "unprocessable", "status": 422, "type": "invalid_request_error", "code": None},
    {"case": "rate_limit_exceeded", "status": 429, "type": "requests", "code": "rate_limit_exceeded"},
    {"case": "tokens_per_min_request_too_large", "status": 429, "type": "tokens", "code": "rate_limit_exceeded"},
    {"case": "insufficient_quota", "status": 429, "type": "insufficient_quota", "code": "insufficient_quota"},
    {"case": "server_error", "status": 500, "type": "server_error", "code": None},
    {"case": "overloaded", "status": 503, "type": "server_error", "code": None},
    {"case": "stream_error_event", "status": 200, "type": "server_error", "code": "server_error"},
    {"case": "stream_response_failed", "status": 200, "type": None, "code": "server_error"},
]


def resolve(spec: JSON, schema: JSON) -> tuple[dict[str, JSON], set[str]]:
    """Properties and required names of a schema, through $ref, allOf, anyOf and oneOf."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return resolve(spec, spec["components"]["schemas"][name])
    properties: dict[str, JSON] = {}
    required = set(schema.get("required", []))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            more, needed = resolve(spec, sub)
            properties.update(more)
            required |= needed
    properties.update(schema.get("properties", {}))
    return properties, required


def limits_of(spec: JSON, properties: dict[str, JSON]) -> JSON:
    """The numeric limits the spec states on top-level parameters (maxItems, minimum, maximum, maxLength)."""
    out: JSON = {}
    for name, schema in properties.items():
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
        found = {
            k: option[k]
            for option in (schema, *schema.get("anyOf", []))  # an optional parameter: anyOf [its schema, null]
            for k in ("maxItems", "minimum", "maximum", "maxLength")
            if k in option
        }
        nested, _ = resolve(spec, schema) if schema.get("type") == "object" or "properties" in schema else ({}, set())
        for sub, sub_schema in nested.items():
            for k in ("minimum", "maximum"):
                if k in sub_schema:
                    found[f"{sub}.{k}"] = sub_schema[k]
        if found:
            out[name] = found
    return out


def endpoint(spec: JSON, method: str, path: str) -> JSON:
    operation = spec["paths"][path][method]
    body = next(iter(operation.get("requestBody", {}).get("content", {}).values()), {})
    properties, required = resolve(spec, body.get("schema", {})) if body else ({}, set())
    return {
        "method": method.upper(),
        "path": path,
        "operation": operation.get("operationId"),
        "parameters": sorted(properties),
        "required": sorted(required),
        "query": sorted(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"),
        "limits": limits_of(spec, properties),
        "statuses": sorted(operation.get("responses", {})),
    }


def derive(checkout: Path, commit: str) -> JSON:
    spec = json.loads((checkout / "openapi.json").read_text())
    schemas = spec["components"]["schemas"]
    return {
        "source": {"repository": "openai/openai-openapi", "file": "openapi.json", "commit": commit},
        "endpoints": {name: endpoint(spec, *where) for name, where in ENDPOINTS.items()},
        "response_error_codes": schemas["ResponseErrorCode"]["enum"],
        "error_object_fields": sorted(schemas["Error"]["properties"]),
        "stream_error_event_fields": sorted(schemas["ResponseErrorEvent"]["properties"]),
        "guide_limits": GUIDE_LIMITS,
        "documented_errors": DOCUMENTED_ERRORS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a checkout (or exported tree) of openai/openai-openapi")
    parser.add_argument("--commit", help="the spec's commit (read with git when omitted)")
    args = parser.parse_args()
    commit = (
        args.commit
        or subprocess.run(
            ["git", "-C", str(args.checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    OUT.write_text(json.dumps(derive(args.checkout, commit), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
