"""What the spec says about each operation, for the fake: routes, parameter and body rules, answer
schemas and example answers.

It reads ``carecloud_api/_contract.json``, which the generation pipeline derives from the
normalised spec (``scripts/fake_contract.py``; the package holds no copy of the spec), and joins it
with the operation catalog (which APIs serve an operation, whether it needs a token).

    contract = Contract.load()
    operation, path_params = contract.route("GET", "/customers/8ea2591121e636086a4a9c0992")
    problems = contract.check_request(operation, request, path_params)   # [] when it fits the spec
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from ._schema import Problem, check

__all__ = ["Contract", "ContractOperation", "RequestParts"]


@dataclass(frozen=True)
class ContractOperation:
    """One operation of the spec as the fake sees it."""

    operation_id: str
    method: str
    path: str
    parameters: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None
    responses: Mapping[str, Any]
    example: Mapping[str, Any]
    interfaces: tuple[str, ...]
    auth: bool
    list_key: str | None
    pattern: re.Pattern[str] = field(repr=False, compare=False)
    literal_segments: int = 0


@dataclass
class RequestParts:
    """A request taken apart and typed by the spec: path and query parameters, JSON body."""

    path: dict[str, str]
    query: dict[str, Any]
    body: Any


class Contract:
    """Every operation of the spec with its rules (loaded once per process: :meth:`load`)."""

    def __init__(self, data: Mapping[str, Any], catalog: Mapping[tuple[str, str], Any]) -> None:
        self.schemas: Mapping[str, Any] = data["schemas"]
        operations: list[ContractOperation] = []
        for entry in data["operations"]:
            known = catalog.get((entry["method"], entry["path"]))
            segments = entry["path"].strip("/").split("/")
            regex = "/".join(
                f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") and s.endswith("}") else re.escape(s) for s in segments
            )
            operations.append(
                ContractOperation(
                    operation_id=entry["operation_id"],
                    method=entry["method"],
                    path=entry["path"],
                    parameters=tuple(entry["parameters"]),
                    body=entry["body"],
                    responses=entry["responses"],
                    example=entry["example"],
                    interfaces=tuple(known.interfaces) if known else ("customer", "enterprise"),
                    auth=bool(known.auth) if known else True,
                    list_key=known.list_key if known else None,
                    pattern=re.compile(f"^/{regex}/?$"),
                    literal_segments=sum(1 for s in segments if not s.startswith("{")),
                )
            )
        # A literal segment wins over a parameter: /customers/actions/search-customers is not
        # GET /customers/{customer_id}/... with customer_id "actions".
        operations.sort(key=lambda op: (-op.literal_segments, op.path))
        self.operations = tuple(operations)
        self.by_id = {op.operation_id: op for op in operations}
        self._by_method: dict[str, list[ContractOperation]] = {}
        for op in operations:
            self._by_method.setdefault(op.method, []).append(op)

    @classmethod
    @functools.cache
    def load(cls) -> Contract:
        """The contract of the installed ``carecloud_api`` (read once, about 20 ms)."""
        from carecloud_api._catalog import OPERATIONS

        text = resources.files("carecloud_api").joinpath("_contract.json").read_text(encoding="utf-8")
        return cls(json.loads(text), {(op.method, op.path): op for op in OPERATIONS})

    def operation(self, operation_id: str) -> ContractOperation:
        """The operation named ``operation_id`` (``KeyError`` naming the closest ids otherwise)."""
        try:
            return self.by_id[operation_id]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(operation_id, self.by_id, n=3)
            raise KeyError(f"no operation {operation_id!r} in the spec; did you mean {', '.join(close)}?") from None

    def route(self, method: str, path: str) -> tuple[ContractOperation | None, dict[str, str], bool]:
        """(operation, path parameters, whether the path exists under another method)."""
        for op in self._by_method.get(method, ()):
            match = op.pattern.match(path)
            if match:
                return op, match.groupdict(), True
        other = any(op.pattern.match(path) for ops in self._by_method.values() for op in ops)
        return None, {}, other

    def check_request(
        self, op: ContractOperation, raw_query: str, headers: Mapping[str, str], content: bytes, path: dict[str, str]
    ) -> tuple[RequestParts, list[Problem]]:
        """The request's parts typed by the spec, and every way it breaks the spec."""
        problems: list[Problem] = []
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        sent: dict[str, list[str]] = {}
        for name, value in pairs:
            sent.setdefault(name, []).append(value)
        query: dict[str, Any] = {}
        declared = {p["name"] for p in op.parameters if p["in"] == "query"}
        for param in op.parameters:
            name, where, schema = param["name"], param["in"], param["schema"]
            if where in ("path", "header"):
                continue
            values = sent.get(name)
            if values is None:
                if param["required"]:
                    problems.append(Problem(name, "required", "query parameter is required"))
                continue
            resolved = self._resolve(schema)
            if resolved.get("type") == "array":
                typed: Any = [self._scalar(resolved.get("items") or {}, v, name, problems) for v in values]
            else:
                if len(values) > 1:
                    problems.append(
                        Problem(name, "not_allowed", f"sent {len(values)} times; the server keeps only the last value")
                    )
                typed = self._scalar(resolved, values[-1], name, problems)
            problems += check(self.schemas, schema, typed, name, "request")
            query[name] = typed
        for name in sent:
            if name not in declared:
                hint = ""
                if f"{name}[]" in declared:
                    hint = f"; an array filter is sent as {name}[]=a&{name}[]=b"
                problems.append(Problem(name, "not_allowed", f"is not a query parameter of this operation{hint}"))
        body: Any = None
        if op.body is not None:
            if not content:
                if op.body["required"]:
                    problems.append(Problem("body", "required", "a JSON body is required"))
            else:
                try:
                    body = json.loads(content)
                except ValueError:
                    problems.append(Problem("body", "invalid_value_format", "is not JSON"))
                else:
                    problems += check(self.schemas, op.body["schema"], body, "", "request")
                    if "json" not in headers.get("content-type", ""):
                        problems.append(Problem("Content-Type", "invalid_value_format", "must be application/json"))
        elif content and op.method in ("GET", "DELETE"):
            problems.append(Problem("body", "not_allowed", f"{op.method} {op.path} takes no body"))
        return RequestParts(path=path, query=query, body=body), problems

    def check_answer(self, op: ContractOperation, status: int, body: Any) -> list[Problem]:
        """Every way an answer the fake built breaks the spec (status declared, body schema)."""
        key = str(status)
        if key not in op.responses:
            return [Problem("status", "not_allowed_value", f"{status} is not an answer the spec declares")]
        schema = op.responses[key]
        if schema is None:
            return [] if body is None else [Problem("body", "not_allowed", f"a {status} answer has no body")]
        return check(self.schemas, schema, body, "answer", "response")

    def _resolve(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 20:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def _scalar(self, schema: Any, text: str, name: str, problems: list[Problem]) -> Any:
        kind = self._resolve(schema).get("type")
        try:
            if kind == "integer":
                return int(text)
            if kind == "number":
                return float(text)
        except ValueError:
            problems.append(Problem(name, "invalid_value_format", f"must be {kind}"))
            return text
        if kind == "boolean":
            if text in ("true", "1"):
                return True
            if text in ("false", "0"):
                return False
            problems.append(Problem(name, "invalid_value_format", "must be true or false"))
        return text
