"""The committed generated package (generated/carecloud_api) against the pinned spec.

Proves issue 2 ("Reproducible codegen"): every operation of the spec is generated (and nothing
else), the operations a bare generator drops are there, array filters go out in PHP bracket syntax,
the model count stays small, models keep what this spec version does not know (enum values,
fields), CareCloud's own ``additional_properties`` field round-trips, ``carecloud_api.models`` loads
lazily, every file carries the "generated" header, the catalog matches the audit of DESIGN 1b, and
a fresh regeneration gives the committed tree byte for byte (``-k regenerate``, ~12 s).
"""

from __future__ import annotations

import ast
import enum
import glob
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import typing
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import carecloud_api
import carecloud_api.models
import httpx
import pytest
import respx
from carecloud_api._catalog import OPERATIONS
from carecloud_api.api.customers import get_customers
from carecloud_api.api.rewards import get_reward
from carecloud_api.api.tasks import get_task
from carecloud_api.api.users import post_user_login
from carecloud_api.api.vouchers import get_vouchers
from carecloud_api.models.attachment import Attachment
from carecloud_api.models.attachment_upload_method import AttachmentUploadMethod
from carecloud_api.models.get_customers_200_response import GetCustomers200Response
from carecloud_api.models.get_reward_200_response import GetReward200Response
from carecloud_api.models.get_task_200_response import GetTask200Response
from carecloud_api.models.post_user_login_200_response import PostUserLogin200Response
from carecloud_api.models.post_user_login_200_response_data import PostUserLogin200ResponseData
from carecloud_api.models.product import Product
from carecloud_api.models.property_record import PropertyRecord
from carecloud_api.models.reward import Reward
from carecloud_api.models.reward_reward_group import RewardRewardGroup
from carecloud_api.models.sort_direction import SortDirection
from carecloud_api.models.task import Task
from carecloud_api.models.task_state_value import TaskStateValue
from carecloud_api.types import UNSET

from scripts import docs_reference, generate, normalise, spec_source
from scripts.normalise import Spec

PACKAGE_DIR = Path(carecloud_api.__file__).resolve().parent
GENERATED_DIR = PACKAGE_DIR.parent
BASE_URL = "https://example.test/webservice/rest-api/enterprise-interface/v1.0"
MODEL_MODULE_CEILING = 1000


@pytest.fixture(scope="module")
def vendor() -> Spec:
    return normalise.load(spec_source.obtain())


def spec_operations(spec: Spec) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, method, _ in normalise.iter_operations(spec)}


def _parameters(spec: Spec, operation: dict[str, Any]) -> list[dict[str, Any]]:
    """An operation's parameters, ``$ref``s to shared ones resolved."""
    found = []
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]  # noqa: PLW2901
        found.append(parameter)
    return found


def endpoint_files() -> list[Path]:
    return sorted(p for p in (PACKAGE_DIR / "api").glob("*/*.py") if p.name != "__init__.py")


def endpoint_modules() -> Iterator[ModuleType]:
    for path in endpoint_files():
        yield importlib.import_module(f"carecloud_api.api.{path.parent.name}.{path.stem}")


@pytest.fixture(scope="module")
def modules() -> dict[tuple[str, str], ModuleType]:
    found: dict[tuple[str, str], ModuleType] = {}
    for module in endpoint_modules():
        key = (module.METHOD, module.PATH)
        assert key not in found, f"{key} generated twice: {found[key].__name__}, {module.__name__}"
        found[key] = module
    return found


def python_name(parameter_name: str) -> str:
    """The argument name a spec parameter gets (``email_list[]`` -> ``email_list``)."""
    return re.sub(r"[^a-z0-9]+", "_", parameter_name.removesuffix("[]").lower()).strip("_")


def python_files() -> list[Path]:
    return sorted(p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts)


# --------------------------------------------------------------------------- operations


def test_every_spec_operation_is_generated_once(vendor: Spec, modules: dict[tuple[str, str], ModuleType]) -> None:
    expected = spec_operations(vendor)  # the counts come from the spec and the catalog, not pinned
    assert len(endpoint_files()) == len(expected)
    assert set(modules) == expected
    catalog = [(op.method, op.path) for op in OPERATIONS]
    assert len(catalog) == len(expected)
    assert set(catalog) == expected
    for op in OPERATIONS:
        assert modules[(op.method, op.path)].__name__ == op.module


def test_catalog_operation_ids_match_the_spec(vendor: Spec) -> None:
    ids = {(m.upper(), path): operation["operationId"] for path, m, operation in normalise.iter_operations(vendor)}
    assert {(op.method, op.path): op.operation_id for op in OPERATIONS} == ids


def test_generated_functions_take_exactly_the_spec_parameters(
    vendor: Spec, modules: dict[tuple[str, str], ModuleType]
) -> None:
    """Parameter names as in the vendor spec: the ``name[]`` renames do not show in Python."""
    for path, method, operation in normalise.iter_operations(vendor):
        module = modules[(method.upper(), path)]
        expected = {
            python_name(normalise.resolve_parameter(vendor, p)["name"]) for p in operation.get("parameters", [])
        }
        if "requestBody" in operation:
            expected.add("body")
        for function in (module.asyncio_detailed, module.sync_detailed):
            assert set(inspect.signature(function).parameters) - {"client"} == expected, (method, path)


def test_operations_a_bare_generator_drops_exist(modules: dict[tuple[str, str], ModuleType]) -> None:
    post_tasks = modules[("POST", "/tasks")]
    put_task = modules[("PUT", "/tasks/{task_id}")]
    assert post_tasks.__name__ == "carecloud_api.api.tasks.post_tasks"
    assert put_task.__name__ == "carecloud_api.api.tasks.put_task"
    assert "body" in inspect.signature(post_tasks.asyncio_detailed).parameters
    assert "task_id" in inspect.signature(put_task.asyncio_detailed).parameters


TASK = {
    "task_id": "8bed991c68a470e7aaeffbf048",
    "task_type_id": "t1",
    "task_state_id": "s1",
    "customer_id": "c1",
    "task_title": "Call back",
    "task_priority": 2,
    "state": 1,
}


def test_task_responses_keep_their_model() -> None:
    client = carecloud_api.Client(base_url=BASE_URL)
    parsed = get_task._parse_response(client=client, response=httpx.Response(200, json={"data": TASK}))
    assert isinstance(parsed, GetTask200Response)
    assert isinstance(parsed.data, Task)
    assert parsed.data.state is TaskStateValue.VALUE_1
    assert parsed.to_dict() == {"data": TASK}


LOGIN = {
    "data": {
        "bearer_token": "09359095c5da43c7ae11e710eabce49418715a6a",
        "valid_to": "2019-01-04 10:31:56",
        "user": {"user_id": "u1", "login": "pos", "first_name": "A", "last_name": "B", "email": "a@x.cz"},
    }
}


@pytest.mark.parametrize("status", [200, 201])
def test_login_response_is_parsed(status: int) -> None:
    client = carecloud_api.Client(base_url=BASE_URL)
    parsed = post_user_login._parse_response(client=client, response=httpx.Response(status, json=LOGIN))
    assert isinstance(parsed, PostUserLogin200Response)
    assert isinstance(parsed.data, PostUserLogin200ResponseData)
    assert parsed.data.bearer_token == "09359095c5da43c7ae11e710eabce49418715a6a"
    assert parsed.data.valid_to == "2019-01-04 10:31:56"
    assert parsed.to_dict() == LOGIN


# --------------------------------------------------------------------------- array filters on the wire


async def test_array_filter_is_sent_in_bracket_syntax() -> None:
    async with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{BASE_URL}/customers").respond(200, json={"data": {"customers": [], "total_items": 0}})
        async with carecloud_api.Client(base_url=BASE_URL) as client:
            response = await get_customers.asyncio_detailed(
                client=client, email_list=["a@x.cz", "b@x.cz"], sort_direction=SortDirection.DESC
            )
    assert response.status_code == 200
    assert isinstance(response.parsed, GetCustomers200Response)
    request = route.calls.last.request
    assert request.url.query == (
        b"count=100&offset=0&sort_direction=DESC&email_list%5B%5D=a%40x.cz&email_list%5B%5D=b%40x.cz"
    )
    assert [item for item in request.url.params.multi_items() if item[0].startswith("email_list")] == [
        ("email_list[]", "a@x.cz"),
        ("email_list[]", "b@x.cz"),
    ]
    assert b"email_list=" not in request.url.query


async def test_retyped_string_filter_sends_several_values() -> None:
    async with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{BASE_URL}/vouchers").respond(200, json={"data": {"vouchers": [], "total_items": 0}})
        async with carecloud_api.Client(base_url=BASE_URL) as client:
            await get_vouchers.asyncio_detailed(client=client, reward_id=["r1", "r2"])
    assert route.calls.last.request.url.params.get_list("reward_id[]") == ["r1", "r2"]
    assert b"reward_id%5B%5D=r1&reward_id%5B%5D=r2" in route.calls.last.request.url.query


async def test_retyped_string_filter_sends_one_value_as_the_spec_types_it() -> None:
    # The spec types reward_id as a string and the vendor's PHP client sends reward_id=x: a string
    # goes out that way, a list in array syntax (issue 22, item 4).
    async with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{BASE_URL}/vouchers").respond(200, json={"data": {"vouchers": [], "total_items": 0}})
        async with carecloud_api.Client(base_url=BASE_URL) as client:
            await get_vouchers.asyncio_detailed(client=client, reward_id="r1")
    assert route.calls.last.request.url.params.multi_items()[-1] == ("reward_id", "r1")
    assert b"reward_id%5B%5D" not in route.calls.last.request.url.query


@pytest.mark.parametrize(
    "name",
    [
        "reward_id",
        "credit_type_id",
        "event_group_text_id",
        "reservable_product_id",
        "stamper_campaign_id",
        "stamper_card_id",
        "text_id",
    ],
)
def test_every_array_syntax_filter_takes_a_string_or_a_list_and_says_how_each_is_sent(name: str) -> None:
    functions = []
    for path in sorted((PACKAGE_DIR / "api").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if f'params["{name}[]"] = {name}\n' in source:
            functions.append((path, source))
    assert functions, name
    for path, source in functions:
        assert f"    {name}: list[str] | str | Unset = UNSET," in source, path
        assert f'    params["{name}"] = {name}\n' in source, path
        documented = " ".join(source.split())  # the docstring wraps long lines
        assert f"{name} (list[str] | str | Unset): One value (a string) is sent as `{name}=x`" in documented, path
        assert f"`{name}[]=a&{name}[]=b`" in documented, path


class _Body:
    def to_dict(self) -> dict[str, Any]:
        return {}


def test_every_array_query_param_is_bracketed(vendor: Spec, modules: dict[tuple[str, str], ModuleType]) -> None:
    """All 33 uses: the 23 vendor arrays and the 10 strings retyped because they ask for arrays."""
    checked = 0
    for path, method, operation in normalise.iter_operations(vendor):
        module = modules[(method.upper(), path)]
        for declared in operation.get("parameters", []):
            parameter = normalise.resolve_parameter(vendor, declared)
            schema = parameter.get("schema", {})
            is_array = schema.get("type") == "array"
            asks_for_array = "array syntax" in (parameter.get("description") or "").lower()
            if parameter["in"] != "query" or not (is_array or asks_for_array):
                continue
            name = parameter["name"]
            arguments: dict[str, Any] = {}
            for arg, spec in inspect.signature(module._get_kwargs).parameters.items():
                if spec.default is inspect.Parameter.empty:
                    arguments[arg] = _Body() if arg == "body" else "x"
            arguments[python_name(name)] = ["a", "b"]
            kwargs = module._get_kwargs(**arguments)
            request = httpx.Request(kwargs["method"], f"{BASE_URL}{kwargs['url']}")
            assert request.url.params.get_list(f"{name}[]") == ["a", "b"], (method, path, name)
            assert name not in request.url.params
            assert f"{name}%5B%5D=a&{name}%5B%5D=b".encode() in request.url.query
            checked += 1
    assert checked == 33


# Values that stress URL encoding: reserved characters, a ready-made escape, non-ASCII, spaces.
_AWKWARD = ["a b", "x&y=z", "100%", "%41", "č€😀", "a+b/c?d#e", "[]", ""]


def _is_enum(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)


def _wire_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def test_query_strings_in_the_url_match_what_params_would_send(modules: dict[tuple[str, str], ModuleType]) -> None:
    # _get_kwargs puts the query string into the URL (httpx.QueryParams encodes it) instead of
    # handing httpx params= to merge. For every operation with query parameters, with awkward
    # values in each of them: the server must read back exactly the values given (and the
    # defaults), and httpx's params= encoding of those values must give the same URL.
    checked = 0
    with httpx.Client(base_url=BASE_URL) as client:
        for (method, _path), module in sorted(modules.items()):
            source = inspect.getsource(module._get_kwargs)
            wire = {  # the query parameters: {python argument: name sent}
                arg: name for arg, name in docs_reference.wire_names_of(source).items() if f'params["{name}"]' in source
            }
            if not wire:
                continue
            signature = inspect.signature(module._get_kwargs).parameters
            for round_ in range(len(_AWKWARD)):
                arguments: dict[str, Any] = {}
                for arg, spec in signature.items():
                    annotation = inspect.formatannotation(spec.annotation)
                    value = _AWKWARD[(round_ + len(arguments)) % len(_AWKWARD)]
                    enums = [t for t in (spec.annotation, *typing.get_args(spec.annotation)) if _is_enum(t)]
                    if arg in wire and enums:
                        members = list(enums[0])
                        arguments[arg] = members[round_ % len(members)]
                    elif arg in wire and "list[str]" in annotation:
                        arguments[arg] = [value, _AWKWARD[round_]]
                    elif arg in wire and annotation.startswith(("int", "float")):
                        arguments[arg] = round_
                    elif arg in wire and annotation.startswith("bool"):
                        arguments[arg] = round_ % 2 == 0
                    elif arg in wire and annotation.startswith("str"):
                        arguments[arg] = value
                    elif spec.default is inspect.Parameter.empty:
                        arguments[arg] = _Body() if arg == "body" else "x"
                expected: list[tuple[str, str]] = []
                for arg, name in wire.items():
                    value = arguments.get(arg, signature[arg].default)
                    if value is UNSET or value is inspect.Parameter.empty:
                        continue
                    items = value if isinstance(value, list) else [value]
                    expected.extend((name, _wire_value(item)) for item in items)
                kwargs = module._get_kwargs(**arguments)
                sent = client.build_request(kwargs["method"], kwargs["url"])
                assert sorted(sent.url.params.multi_items()) == sorted(expected), (method, module.PATH, arguments)
                bare_url = kwargs["url"].partition("?")[0]
                assert client.build_request(kwargs["method"], bare_url, params=sent.url.params).url == sent.url
                checked += 1
    assert checked > 8 * 100  # every operation with query parameters, 8 rounds each


# --------------------------------------------------------------------------- models


def test_model_module_count_is_bounded() -> None:
    model_modules = sorted(p.stem for p in (PACKAGE_DIR / "models").glob("*.py") if p.name != "__init__.py")
    print(f"\n{len(model_modules)} model modules in generated/carecloud_api/models")
    assert len(model_modules) < MODEL_MODULE_CEILING
    assert len(model_modules) == len(carecloud_api.models.__all__)  # one public class per module
    # The shapes a bare run copies into every operation now exist once.
    per_operation_copies = [m for m in model_modules if re.search(r"_(401|403|404|405|500)_response", m)]
    assert per_operation_copies == []
    assert [m for m in model_modules if m.endswith("sort_direction")] == ["sort_direction"]


def test_unknown_string_enum_value_and_fields_are_kept() -> None:
    body = {
        "upload_method": "ftp",
        "file_data": "https://x.test/a.png",
        "cache_for": 20,
        "checksum": {"md5": "ab"},
    }
    attachment = Attachment.from_dict(body)
    method = attachment.upload_method
    assert isinstance(method, AttachmentUploadMethod)
    assert isinstance(method, str)
    assert method.value == "ftp"
    assert method.is_unknown
    assert str(method) == "ftp"
    assert method.name == "UNKNOWN"
    assert attachment.unknown_fields == {"checksum": {"md5": "ab"}}
    assert attachment["checksum"] == {"md5": "ab"}
    assert "checksum" in attachment
    assert attachment.additional_keys == ["checksum"]
    assert attachment.to_dict() == body
    assert AttachmentUploadMethod("url") is AttachmentUploadMethod.URL
    assert not AttachmentUploadMethod.URL.is_unknown
    with pytest.raises(ValueError, match="is not a valid"):
        AttachmentUploadMethod(3)


def test_unknown_int_enum_value_is_kept() -> None:
    # The spec's own description lists "5 - gift reward", which its enum (0, 1, 2, 4) lacks.
    group = RewardRewardGroup(5)
    assert isinstance(group, int)
    assert group.value == 5
    assert group.is_unknown
    assert str(group) == "5"
    assert RewardRewardGroup(4) is RewardRewardGroup.VALUE_4
    assert not RewardRewardGroup.VALUE_4.is_unknown
    wrong_type: Any = "5"  # an unknown value is kept only when it has the enum's own type
    with pytest.raises(ValueError, match="is not a valid"):
        RewardRewardGroup(wrong_type)


REWARD = {
    "reward_id": "83cfee22eabfbbb15a14815e30",
    "code": "REWARD-001",
    "name": "Dessert+Caffe",
    "reward_group": 5,
    "store_list": [
        {
            "store_id": "s1",
            "store_code": "S1",
            "name": "Main",
            "partner_id": "p1",
            "system_id": "x",
            "floor": 2,
        }
    ],
    "additional_properties": [
        {"property_id": "p1_note", "property_value": "VIP customer"},
        {"property_id": "p1_visit_count", "property_value": 42},
        {
            "property_id": "p1_favourite_color",
            "property_value": [{"id": "86e05affc7a7abefcd513ab400", "name": "Blue", "state": 1}],
        },
    ],
    "state": 1,
    "loyalty_tier": "gold",
}


def test_reward_with_carecloud_additional_properties_round_trips() -> None:
    reward = Reward.from_dict(json.loads(json.dumps(REWARD)))
    assert isinstance(reward.additional_properties, list)
    assert all(isinstance(p, PropertyRecord) for p in reward.additional_properties)
    assert [p.property_id for p in reward.additional_properties] == [
        "p1_note",
        "p1_visit_count",
        "p1_favourite_color",
    ]
    assert reward.additional_properties[1].property_value == 42
    assert reward.reward_group.is_unknown
    assert reward.unknown_fields == {"loyalty_tier": "gold"}  # the generator's own catch-all
    assert reward["loyalty_tier"] == "gold"
    assert reward.store_list[0].unknown_fields == {"floor": 2}
    assert reward.to_dict() == REWARD


def test_reward_response_parses_through_the_endpoint() -> None:
    client = carecloud_api.Client(base_url=BASE_URL)
    parsed = get_reward._parse_response(client=client, response=httpx.Response(200, json={"data": REWARD}))
    assert isinstance(parsed, GetReward200Response)
    assert isinstance(parsed.data, Reward)
    assert parsed.to_dict() == {"data": REWARD}


def test_product_with_carecloud_additional_properties_round_trips() -> None:
    body = {
        "product_id": "pr1",
        "name": "Espresso",
        "additional_properties": [{"property_id": "origin", "property_value": "Brazil"}],
        "new_flag": True,
    }
    product = Product.from_dict(body)
    assert isinstance(product.additional_properties, list)
    assert product.additional_properties[0].property_value == "Brazil"
    assert product.unknown_fields == {"new_flag": True}
    assert product.to_dict() == body
    assert "additional_properties" not in product.unknown_fields


# --------------------------------------------------------------------------- lazy models

COUNT_MODELS = "import sys; print(sum(1 for n in sys.modules if n.startswith('carecloud_api.models.')))"
LAZY_MODEL_CEILING = 12


def loaded_models_after(statement: str) -> int:
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", f"{statement}; {COUNT_MODELS}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=GENERATED_DIR.parent,
    )
    return int(result.stdout.strip())


def test_one_endpoint_imports_only_its_models() -> None:
    assert loaded_models_after("import carecloud_api.models") == 0
    loaded = loaded_models_after("import carecloud_api.api.customers.get_customers")
    print(f"\nimporting get_customers loads {loaded} of {len(carecloud_api.models.__all__)} model modules")
    assert loaded <= LAZY_MODEL_CEILING


def test_models_package_resolves_names_lazily() -> None:
    from carecloud_api.models import Customer

    assert Customer.__module__ == "carecloud_api.models.customer"
    listing = dir(carecloud_api.models)
    assert "Customer" in listing
    assert "PostUserLogin200Response" in listing
    assert listing == sorted(carecloud_api.models.__all__)
    with pytest.raises(AttributeError, match="NoSuchModel"):
        carecloud_api.models.NoSuchModel  # noqa: B018
    with pytest.raises(ImportError):
        from carecloud_api.models import NoSuchModel  # noqa: F401
    for name in carecloud_api.models.__all__:
        assert getattr(carecloud_api.models, name).__name__ == name


def test_referenced_models_are_imported_on_first_parse_only() -> None:
    # Importing a model leaves the models it refers to unloaded; the first parse binds them.
    statement = (
        "import sys; from carecloud_api.models.customer import Customer; "
        "before = 'carecloud_api.models.address' in sys.modules; "
        "c = Customer.from_dict({'customer_id': 'c1', 'personal_information': {'language_id': 'en', "
        "'address': {'city': 'Brno'}}}); "
        "print(before, type(c.personal_information).__name__, type(c.personal_information.address).__name__, "
        "c.to_dict()['personal_information']['address']['city'])"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", statement], capture_output=True, text=True, check=True, cwd=GENERATED_DIR.parent
    )
    assert result.stdout.split() == ["False", "PersonalInformation", "Address", "Brno"]


def test_no_import_statement_runs_on_each_parse() -> None:
    # An import statement costs ~1.5 us even for a loaded module, more than parsing a small model:
    # to_dict/from_dict call _bind_models once instead (api-spec/templates/model.py.jinja).
    offenders = []
    for path in sorted((PACKAGE_DIR / "models").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                if any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(method)):
                    offenders.append(f"{path.name}:{cls.name}.{method.name}")
    assert offenders == []


def test_every_method_using_a_lazily_bound_model_binds_it_first() -> None:
    # A method that names a model bound by _bind_models but does not call it would raise
    # NameError when it is the first thing a program does with that model.
    unbound = []
    checked = 0
    for path in sorted((PACKAGE_DIR / "models").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "_bind_models":
                for statement in ast.walk(node):
                    if isinstance(statement, ast.Global):
                        bound |= set(statement.names) - {"_models_bound"}
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                names = {n.id for n in ast.walk(method) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
                if not names & bound:
                    continue
                checked += 1
                binds = any(
                    isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_bind_models"
                    for n in ast.walk(method)
                )
                if not binds:
                    unbound.append(f"{path.name}:{cls.name}.{method.name}")
    assert checked > 300  # the check ran over the models that refer to others
    assert unbound == []


# --------------------------------------------------------------------------- typed for users

CONSUMER = """\
from carecloud_api.api.customers import get_customers
from carecloud_api.models import Customer

from carecloud_async import CareCloud


async def first_ids(cc: CareCloud) -> list[str | None]:
    page = await cc.call(get_customers.call, count=10)
    reveal_type(page)
    ids: list[str | None] = []
    async for customer in cc.paginate(get_customers, item_type=Customer):
        reveal_type(customer)
        ids.append(customer.no_such_field)
    return ids
"""


def test_installed_packages_are_typed_for_users(tmp_path: Path) -> None:
    """A user's mypy --strict, outside this project (no mypy_path): both packages must be seen as
    typed (PEP 561 ``py.typed``), so the generated models are real types, not Any."""
    (tmp_path / "user.py").write_text(CONSUMER, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "user.py"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": ""},
    )
    lines = result.stdout.splitlines()
    assert not [line for line in lines if "import-untyped" in line or "import-not-found" in line], result.stdout
    assert any(
        'Revealed type is "carecloud_api.models.get_customers_200_response.GetCustomers200Response"' in line
        for line in lines
    ), result.stdout
    assert any('Revealed type is "carecloud_api.models.customer.Customer"' in line for line in lines), result.stdout
    # The deliberate mistake is caught, which it would not be were the items Any.
    assert [line for line in lines if "error:" in line] == [
        'user.py:13: error: "Customer" has no attribute "no_such_field"  [attr-defined]'
    ], result.stdout
    assert (PACKAGE_DIR / "py.typed").is_file()


# --------------------------------------------------------------------------- files


def test_every_file_carries_the_generated_header() -> None:
    files = python_files()
    assert len(files) > len(OPERATIONS) + 800
    missing = [
        str(p.relative_to(PACKAGE_DIR)) for p in files if not p.read_text(encoding="utf-8").startswith(generate.HEADER)
    ]
    assert missing == []
    assert "Do not edit" in generate.HEADER
    assert "`make generate`" in generate.HEADER


def test_no_strenum_anywhere() -> None:
    assert [str(p) for p in python_files() if "StrEnum" in p.read_text(encoding="utf-8")] == []


def test_generated_syntax_is_python_310() -> None:
    for path in python_files():
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 10))


# Names the standard library added in 3.11 or later (the package supports 3.10).
PY311_NAMES = {
    "typing": {
        "Self",
        "LiteralString",
        "Never",
        "assert_never",
        "assert_type",
        "reveal_type",
        "Required",
        "NotRequired",
        "Unpack",
        "TypeVarTuple",
        "dataclass_transform",
        "get_overloads",
        "clear_overloads",
        "override",
        "TypeAliasType",
    },
    "enum": {
        "StrEnum",
        "ReprEnum",
        "EnumCheck",
        "FlagBoundary",
        "verify",
        "member",
        "nonmember",
        "global_enum",
    },
}
PY311_MODULES = {"tomllib"}


def py311_imports() -> list[str]:
    found = []
    suspects = set().union(*PY311_NAMES.values(), PY311_MODULES)
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        if not any(name in text for name in suspects):  # cheap filter before parsing
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {alias.name for alias in node.names} & PY311_NAMES.get(node.module, set())
                if names or node.module in PY311_MODULES:
                    found.append(f"{path.relative_to(PACKAGE_DIR)}: from {node.module} import {sorted(names)}")
            elif isinstance(node, ast.Import):
                found += [
                    f"{path.relative_to(PACKAGE_DIR)}: import {a.name}" for a in node.names if a.name in PY311_MODULES
                ]
    return found


def test_no_python311_only_imports() -> None:
    assert py311_imports() == []


def python310() -> str | None:
    candidates = [os.environ.get("PYTHON310", ""), shutil.which("python3.10") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python")))
    for candidate in filter(None, candidates):
        check = subprocess.run(  # noqa: S603 (a local interpreter, fixed code)
            [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 10))"],
            capture_output=True,
            check=False,
        )
        if check.returncode == 0:
            return candidate
    return None


def run_python310(code: str) -> subprocess.CompletedProcess[str]:
    interpreter = python310()
    if interpreter is None:
        pytest.skip("no Python 3.10 interpreter found (set $PYTHON310)")
    # The venv's pure-Python dependencies (httpx, attrs, ...) on 3.10, without writing .pyc files.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(GENERATED_DIR), sysconfig.get_paths()["purelib"]]))
    return subprocess.run(  # noqa: S603 (a local interpreter, fixed code)
        [interpreter, "-B", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=GENERATED_DIR,
    )


def test_generated_compiles_on_python310() -> None:
    code = (
        "import pathlib\n"
        "for p in sorted(pathlib.Path('carecloud_api').rglob('*.py')):\n"
        "    compile(p.read_text(encoding='utf-8'), str(p), 'exec')\n"
        "print('ok')\n"
    )
    result = run_python310(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_generated_imports_on_python310() -> None:
    code = (
        "import importlib, pathlib\n"
        "import carecloud_api.models as m\n"
        "[getattr(m, n) for n in m.__all__]\n"
        "for p in sorted(pathlib.Path('carecloud_api/api').glob('*/*.py')):\n"
        "    importlib.import_module(f'carecloud_api.api.{p.parent.name}.{p.stem}')\n"
        "import carecloud_api._catalog\n"
        "print('ok')\n"
    )
    result = run_python310(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


# --------------------------------------------------------------------------- catalog (DESIGN 1b)


def test_catalog_matches_the_audit(vendor: Spec) -> None:
    paginated = [op for op in OPERATIONS if op.paginated]
    # the lists: every operation of the spec that takes count and offset (111 in the pinned spec)
    takes_count_and_offset = {
        (method.upper(), path)
        for path, method, operation in normalise.iter_operations(vendor)
        if {"count", "offset"} <= {str(p.get("name")) for p in _parameters(vendor, operation)}
    }
    assert {(op.method, op.path) for op in paginated} == takes_count_and_offset
    assert all(op.list_key for op in paginated)
    assert Counter(op.method for op in paginated) == {"GET": 110, "POST": 1}
    assert [op.path for op in paginated if op.method == "POST"] == [
        "/reservable-products/actions/search-reservable-products"
    ]
    unusual = {
        op.path: op.list_key for op in paginated if op.list_key != op.path.rstrip("/").split("/")[-1].replace("-", "_")
    }
    assert unusual == {
        "/customers/{customer_id}/reward-recommendations": "rewards",
        "/customers/{customer_id}/recommendation-records": "recommendations",
        "/customers/{customer_id}/events": "customer_events",
        "/reservable-products/actions/search-reservable-products": "search_results",
        "/rewards/actions/reward-recommendations": "rewards",
        "/reward-properties": "rewards_properties",
        "/stamps": "stamper_stamps",
        "/tasks/{task_id}/assignees": "task_assignees",
    }

    actions = [op for op in OPERATIONS if op.action]
    assert len(actions) == len([path for path, _, _ in normalise.iter_operations(vendor) if "/actions/" in path])
    assert Counter(op.method for op in actions) == {"POST": 62, "GET": 11}
    assert sum("{" in op.path.split("/actions/")[0] for op in actions) == 15
    assert all(f"/actions/{op.action}" in op.path for op in actions)
    assert len([op for op in OPERATIONS if "/actions/" in op.path]) == 73

    no_auth = {(op.method, op.path) for op in OPERATIONS if not op.auth}
    assert len(no_auth) == 12
    assert no_auth == {
        (m.upper(), path) for path, m, operation in normalise.iter_operations(vendor) if operation.get("security") == []
    }
    assert {("POST", "/users/actions/login"), ("POST", "/tokens"), ("GET", "/tests/connection")} <= no_auth

    interfaces = Counter(op.interfaces for op in OPERATIONS)
    assert interfaces == {("enterprise",): 42, ("customer",): 9, ("customer", "enterprise"): 271}


def test_catalog_pagination_agrees_with_the_vendor_spec(vendor: Spec) -> None:
    expected = set()
    for path, method, operation in normalise.iter_operations(vendor):
        names = {normalise.resolve_parameter(vendor, p)["name"] for p in operation.get("parameters", [])}
        if {"count", "offset"} <= names:
            expected.add((method.upper(), path))
    assert {(op.method, op.path) for op in OPERATIONS if op.paginated} == expected


# --------------------------------------------------------------------------- determinism


@pytest.mark.skipif(sys.version_info < (3, 11), reason="openapi-python-client 0.29.1 needs Python 3.11")
def test_regenerate_gives_the_committed_tree(tmp_path: Path) -> None:
    fresh = generate.build(spec_source.obtain(), tmp_path, verbose=False)
    problems = generate.tree_diff(generate.TARGET, fresh)
    # and the resource tree generated from it (carecloud_async/_resources, issue 24)
    problems += generate.tree_diff(generate.RESOURCES_TARGET, tmp_path / generate.RESOURCES)
    assert problems == [], "generated/ differs from a fresh run:\n" + "\n".join(problems[:10])


def test_unset_reads_as_its_name_in_reprs_and_help() -> None:
    # help(cc.customers.list) showed each optional argument as `<carecloud_api.types.Unset object
    # at 0x7f...>`; the model reprs too.
    import inspect

    from carecloud_api.api.customers import get_customers
    from carecloud_api.models import Address

    assert repr(UNSET) == "UNSET"
    assert "email: str | carecloud_api.types.Unset = UNSET" in str(inspect.signature(get_customers.call))
    assert "object at 0x" not in repr(Address())
