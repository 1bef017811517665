"""Fixtures for the i3D.net plugin: a sandbox on loopback, a provider pointed at it, and
i3D's own OpenAPI fragments (read from ../shared, never copied into the project)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from plugins.i3d import I3DCredentials, I3DProvider
from plugins.i3d.sandbox import SANDBOX, SandboxState, create_app

TOKEN = "test-i3d-key-5f2c9a"
RETURN_URL = "http://127.0.0.1:9/landing/i3d"
REPO_ROOT = Path(__file__).resolve().parents[2]
PAY_API_DOC = REPO_ROOT.parent / "shared" / "reference" / "api-docs" / "i3d-pay-api.md"


class OpenApiFragments:
    """The ```json blocks of i3D's pay page: one OpenAPI document per endpoint.

    Schemas are validated where they sit in their document (a JSON pointer into it), so
    `#/components/schemas/...` refs resolve against the whole document.
    """

    URI = "urn:i3d:pay-fragment"

    def __init__(self, text: str) -> None:
        blocks = re.findall(r"```json\s*\n(.*?)\n```", text, flags=re.DOTALL)
        self.documents: list[dict[str, Any]] = [json.loads(block) for block in blocks]

    def _with_path(self, path: str) -> dict[str, Any]:
        found = [document for document in self.documents if path in document["paths"]]
        assert found, f"no fragment documents {path}"
        return found[0]

    def _with_component(self, name: str) -> dict[str, Any]:
        found = [d for d in self.documents if name in d["components"]["schemas"]]
        assert found, f"no fragment defines {name}"
        return found[0]

    def _validator(self, document: dict[str, Any], *pointer: str) -> jsonschema.Validator:
        registry = Registry().with_resource(
            self.URI, Resource.from_contents(document, default_specification=DRAFT4)
        )
        escaped = "/".join(part.replace("~", "~0").replace("/", "~1") for part in pointer)
        return jsonschema.Draft4Validator({"$ref": f"{self.URI}#/{escaped}"}, registry=registry)

    def operation(self, path: str, method: str) -> dict[str, Any]:
        return self._with_path(path)["paths"][path][method.lower()]

    def response(self, path: str, method: str, status: str = "200") -> jsonschema.Validator:
        pointer = ("paths", path, method.lower(), "responses", status, "content")
        return self._validator(self._with_path(path), *pointer, "application/json", "schema")

    def request_body(self, path: str, method: str) -> jsonschema.Validator:
        pointer = ("paths", path, method.lower(), "requestBody", "content")
        return self._validator(self._with_path(path), *pointer, "application/json", "schema")

    def parameter(self, path: str, method: str, name: str) -> tuple[dict[str, Any], Any]:
        """The parameter's declaration and a validator for its schema."""
        parameters = self.operation(path, method).get("parameters", [])
        for index, parameter in enumerate(parameters):
            if parameter["name"] == name:
                pointer = ("paths", path, method.lower(), "parameters", str(index), "schema")
                return parameter, self._validator(self._with_path(path), *pointer)
        raise AssertionError(f"{method} {path} declares no parameter {name}")

    def component(self, name: str) -> dict[str, Any]:
        return self._with_component(name)["components"]["schemas"][name]

    def schema(self, name: str) -> jsonschema.Validator:
        document = self._with_component(name)
        return self._validator(document, "components", "schemas", name)


@pytest.fixture(scope="session")
def i3d_docs() -> OpenApiFragments:
    if not PAY_API_DOC.is_file():
        pytest.skip(
            f"i3D's OpenAPI fragments are not at {PAY_API_DOC} (expected ../shared/reference/"
            "api-docs/i3d-pay-api.md next to the repository); schema checks need them."
        )
    fragments = OpenApiFragments(PAY_API_DOC.read_text(encoding="utf-8"))
    assert len(fragments.documents) == 3, "expected the prepare, register and landing fragments"
    return fragments


@pytest.fixture
def sandbox_app() -> web.Application:
    return create_app(TOKEN, return_url=RETURN_URL)


@pytest.fixture
def sandbox(sandbox_app: web.Application) -> SandboxState:
    return sandbox_app[SANDBOX]


@pytest.fixture
async def server(sandbox_app: web.Application, aiohttp_server: Callable[..., Any]) -> TestServer:
    return await aiohttp_server(sandbox_app, host="127.0.0.1")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def make_provider(server: TestServer, http: aiohttp.ClientSession) -> Callable[..., I3DProvider]:
    def make(token: str = TOKEN, **options: Any) -> I3DProvider:
        options.setdefault("timeout", 2.0)
        options.setdefault("retry_delay", 0.01)
        credentials = I3DCredentials(api_key=token, base_url=str(server.make_url("")))
        return I3DProvider(credentials, http, **options)

    return make


@pytest.fixture
def provider(make_provider: Callable[..., I3DProvider]) -> I3DProvider:
    return make_provider()
