"""The public surface: explicit ``__all__``, no private module paths, no Temporal in the router."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

import temporal_router

PUBLIC_PACKAGES = [
    "temporal_router",
    "temporal_router.adapter",
    "temporal_router.otel",
    "temporal_router.testing",
    "temporal_router.workflows",
]
#: The public surface of the Temporal half, pinned: a name added or removed here is an API
#: change to make on purpose (docs/architecture.md says what belongs where).
PINNED = {
    "temporal_router.adapter": [
        "CALLER_HEADER",
        "CREDENTIAL_HEADER",
        "PASSTHROUGH_MODULES",
        "CallerVerifier",
        "CredentialError",
        "CredentialSource",
        "EncryptionCodec",
        "EntityListing",
        "HookClient",
        "JwtVerifier",
        "KeyRing",
        "RouterClient",
        "RouterExtension",
        "RouterInterceptor",
        "RouterPlugin",
        "SharedSecretSigner",
        "SharedSecretVerifier",
        "Snapshot",
        "StaticToken",
        "TrustPolicy",
        "connect_client",
    ],
    "temporal_router.workflows": [
        "DISPATCH_UPDATE",
        "HOOK_REQUEST_SIGNAL",
        "HOOK_REQUEST_UPDATE",
        "HOOK_SIGNAL",
        "LIMITS",
        "ROUTER_DEFINITION",
        "ROUTER_STATE",
        "SEARCH_ATTRIBUTES",
        "SHARED_QUERY",
        "SHARED_SIGNAL",
        "SNAPSHOT_QUERY",
        "DispatchReply",
        "DispatchRequest",
        "HookAnswer",
        "HookConfig",
        "HookError",
        "HookFailed",
        "HookLoopError",
        "HookRequest",
        "HookRequestError",
        "HookTargetError",
        "HookTimeoutError",
        "Limits",
        "SharedChange",
        "dispatch_to_host",
        "exec_hook",
        "exec_hook_batch",
        "hook",
        "host_snapshot",
        "host_state",
        "shared_state",
        "signal",
        "update_host_state",
        "wait_for",
    ],
    "temporal_router.testing": [
        "DevServer",
        "DevServerError",
        "PathStep",
        "create_test_deps",
        "create_test_workflow",
        "dev_environment",
        "expect_error",
        "expect_ok",
        "find_temporal_cli",
        "find_test_server",
        "test_migration",
        "test_migration_path",
        "test_migration_restore",
        "test_path",
        "time_skipping_environment",
        "unique_task_queue",
    ],
    "temporal_router.cli": ["main"],
}
ROUTER_DIR = Path(temporal_router.__file__).parent / "router"


def _public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def _resolved(package: str) -> types.ModuleType:
    module = importlib.import_module(package)
    for name in module.__all__:
        getattr(module, name)  # resolve lazily exported names (PEP 562)
    return module


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_all_has_no_duplicates(package: str) -> None:
    module = importlib.import_module(package)
    duplicates = [name for name, n in Counter(module.__all__).items() if n > 1]
    assert duplicates == []


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_all_equals_the_public_names_of_the_namespace(package: str) -> None:
    module = _resolved(package)
    public = _public_names(module)
    exported = set(module.__all__)
    assert sorted(exported - public) == [], "in __all__ but not defined"
    assert sorted(public - exported) == [], "public but not in __all__"


# Only the pure packages present their objects under the package name: in the Temporal half,
# ``__module__`` is where temporalio's sandbox imports a workflow class from, and where the
# converters resolve a message dataclass's field annotations.
@pytest.mark.parametrize("package", ["temporal_router", "temporal_router.testing"])
def test_exported_objects_do_not_leak_private_module_paths(package: str) -> None:
    module = _resolved(package)
    leaks: dict[str, str] = {}
    for name in module.__all__:
        obj = getattr(module, name)
        owner = getattr(obj, "__module__", None)
        if not isinstance(owner, str):
            continue
        try:
            obj.__module__ = owner  # only objects whose __module__ can be set are judged
        except (AttributeError, TypeError):
            continue
        if any(part.startswith("_") for part in owner.split(".")):
            leaks[name] = owner
    assert leaks == {}


@pytest.mark.parametrize("package", sorted(PINNED))
def test_the_temporal_half_exports_exactly_the_pinned_names(package: str) -> None:
    assert importlib.import_module(package).__all__ == PINNED[package]


def test_each_public_name_has_one_public_place() -> None:
    places: dict[str, list[str]] = {}
    for package in PUBLIC_PACKAGES:
        for name in importlib.import_module(package).__all__:
            places.setdefault(name, []).append(package)
    assert {name: where for name, where in places.items() if len(where) > 1} == {}


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("temporal_router", "HookFailed", "temporal_router.workflows"),
        ("temporal_router.adapter", "exec_hook", "temporal_router.workflows"),
        ("temporal_router.adapter", "DevServer", "temporal_router.testing"),
        ("temporal_router.router", "HookFailed", "temporal_router.workflows"),
        ("temporal_router.workflows", "EntityWorkflow", "temporal_router.workflows._entity"),
    ],
)
def test_moved_names_still_import_from_their_old_place_with_a_warning(
    old: str, name: str, new: str
) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}.{name}"):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr(importlib.import_module(old), "nope")  # noqa: B009


def test_router_objects_present_themselves_as_temporal_router() -> None:
    for obj in (
        temporal_router.WorkflowRouter,
        temporal_router.define_workflow,
        temporal_router.Context,
        temporal_router.ValidationError,
        temporal_router.WorkflowExecutor,
    ):
        assert obj.__module__ == "temporal_router"


#: What ``temporal_router.router`` offers the Temporal half and nobody else.
ROUTER_INTERNALS = {
    "PLUGIN_BRAND",
    "dump_model",
    "issue_messages",
    "reset_current_caller",
    "set_current_caller",
    "to_iso",
    "track_current_context",
    "utc_now",
}


def test_router_package_reexports_the_same_objects() -> None:
    router = importlib.import_module("temporal_router.router")
    public = [name for name in router.__all__ if name not in ROUTER_INTERNALS]
    assert set(router.__all__) - set(public) == ROUTER_INTERNALS
    assert sorted(public) == sorted(temporal_router.__all__)
    for name in public:
        assert getattr(temporal_router, name) is getattr(router, name), name


def test_router_source_does_not_import_temporalio() -> None:
    offenders: list[str] = []
    files = sorted(ROUTER_DIR.rglob("*.py"))
    assert files, f"no sources found under {ROUTER_DIR}"
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders.extend(
                f"{path.name}:{node.lineno} imports {name}"
                for name in names
                if name == "temporalio" or name.startswith("temporalio.")
            )
    assert offenders == []


@pytest.mark.parametrize("package", ["temporal_router", "temporal_router.testing"])
def test_importing_does_not_load_temporalio(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        "loaded = sorted(m for m in sys.modules if m == 'temporalio' or m.startswith('temporalio.'))\n"
        "print(','.join(loaded))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


@pytest.mark.parametrize(
    "module",
    [
        "temporal_router.adapter",
        "temporal_router.otel",
        "temporal_router.workflows",
        # What a sandbox re-imports when the entity module is not passed through.
        "temporal_router.workflows._entity",
    ],
)
def test_each_subpackage_imports_first_in_a_fresh_process(module: str) -> None:
    # The adapter and the workflows import each other; whichever comes first must work.
    completed = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
