"""``RouterPlugin``: one object that makes Temporal clients and workers host routers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import temporalio.converter
from temporalio.client import ClientConfig
from temporalio.common import HeaderCodecBehavior
from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.plugin import SimplePlugin
from temporalio.worker import ReplayerConfig, WorkerConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from ..router import ConfigurationError, MigrationPipeline, Reactors, WorkflowRouter
from ..workflows import DISPATCH_UPDATE

# The plugin is what makes entity workflow classes: the factory is internal to the two.
from ..workflows._entity import EntityOptions, EntityWorkflow, entity_workflow_class

# Where an entity learns, when it is constructed, what its workers trust: internal to the
# workflows package and the plugin.
from ..workflows._trust import register_worker_trust
from ._activities import ACTIVITIES
from ._codec import EncryptionCodec
from ._extension import RouterExtension
from ._interceptor import RouterInterceptor
from ._trust import TrustPolicy

__all__ = ["PASSTHROUGH_MODULES", "RouterPlugin"]

#: Modules the plugin passes through the workflow sandbox. The library must be: entity
#: classes are looked up in their module by name. pydantic and OpenTelemetry would
#: otherwise be re-imported for every workflow run (about 30 ms and 1 MiB each). PyJWT
#: and cryptography (the optional ``jwt`` extra) verify callers inside workflow tasks and
#: import parts of themselves lazily, which the sandbox would refuse mid-run.
PASSTHROUGH_MODULES: tuple[str, ...] = (
    "temporal_router",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "opentelemetry",
    "jwt",
    "cryptography",
)


def _converter_with(
    codec: temporalio.converter.PayloadCodec | None,
) -> Callable[[temporalio.converter.DataConverter | None], temporalio.converter.DataConverter]:
    def configure(
        existing: temporalio.converter.DataConverter | None,
    ) -> temporalio.converter.DataConverter:
        base = existing or temporalio.converter.DataConverter.default
        changes: dict[str, Any] = {}
        if base.payload_converter_class is not PydanticPayloadConverter:
            changes["payload_converter_class"] = PydanticPayloadConverter
        if codec is not None and base.payload_codec is not codec:
            changes["payload_codec"] = codec
        # Everything else (a user codec, the failure converter) is kept.
        return dataclasses.replace(base, **changes) if changes else base

    return configure


def _with_passthrough(modules: Sequence[str]) -> Callable[[WorkflowRunner | None], WorkflowRunner]:
    def configure(existing: WorkflowRunner | None) -> WorkflowRunner:
        runner = existing or SandboxedWorkflowRunner()
        if not isinstance(runner, SandboxedWorkflowRunner):
            return runner
        return dataclasses.replace(
            runner, restrictions=runner.restrictions.with_passthrough_modules(*modules)
        )

    return configure


def _append_missing(items: Sequence[Any]) -> Callable[[Sequence[Any] | None], Sequence[Any]]:
    def configure(existing: Sequence[Any] | None) -> Sequence[Any]:
        current = list(existing or [])
        return current + [item for item in items if not any(item is c for c in current)]

    return configure


_SINGLETONS = (RouterInterceptor, OpenTelemetryInterceptor)


def _without_duplicate_router_interceptors(
    interceptors: Sequence[Any], *, already_installed: Sequence[Any] = ()
) -> list[Any]:
    """Keep the first interceptor of each kind that must run once (ours, and OTel's), and
    no object twice (installing the plugin twice repeats its extensions' interceptors)."""
    seen = {kind for kind in _SINGLETONS if any(isinstance(i, kind) for i in already_installed)}
    kept: list[Any] = []
    for interceptor in interceptors:
        if any(interceptor is other for other in [*already_installed, *kept]):
            continue
        kind = next((k for k in _SINGLETONS if isinstance(interceptor, k)), None)
        if kind is not None:
            if kind in seen:
                continue
            seen.add(kind)
        kept.append(interceptor)
    return kept


class RouterPlugin(SimplePlugin):
    """Host routers on Temporal: pass it to ``Client.connect(plugins=[...])``.

    Every ``Worker`` built from that client then runs one entity workflow type per router
    (named after the definition), the reactor delivery activity, the pydantic data converter
    and the sandbox pass-through. Installing it twice, or on client and worker both,
    registers nothing twice.

    Args:
        routers: The routers to host; each definition name becomes a workflow type. None
            is fine for a worker of plain workflows that use hooks (``workflows=``).
        reactors: Reactors whose follow-up commands entities deliver durably.
        migrations: Migration pipelines, applied when an entity loads an older snapshot.
        max_history_events: Continue-as-new bound (the server's suggestion also applies).
        remember_commands: Replies kept per entity for exactly-once command retries.
        dispatch_timeout: Optional per-dispatch time limit (workflow time).
        search_attributes: Maintain the ``RouterState`` search attribute.
        workflows: Extra workflows (for example hooked workflows) to register.
        activities: Extra activities to register.
        passthrough_modules: Extra modules to pass through the sandbox.
        extensions: :class:`RouterExtension` bundles: their interceptors go on clients and
            workers after ours, their middleware and hooks on every router.
        encryption_key: Encrypt all payloads with AES-GCM (:class:`EncryptionCodec`): a
            16/24/32-byte key, or base64 of one.
        encrypt_headers: Also run headers (the caller context) through the codec.
        trust: Whom the workers believe: verified callers, the workers' key ring for
            internal messages, who may create entities and ask for hooks
            (:class:`TrustPolicy`; SECURITY.md). Default: the namespace is trusted, as
            in development.
        otel: Trace on Temporal: temporalio's ``OpenTelemetryInterceptor`` (with Temporal's
            own spans, outermost; an entity command's dispatch span is the worker's span of
            its Update, under the client's ``StartWorkflowUpdate`` span, with no
            ``HandleUpdate`` span, and no ``ValidateUpdate`` span unless rejected:
            ``temporal_router.otel._interceptor``) and
            :func:`~temporal_router.otel.otel_plugin` on every router. The global tracer
            provider must be replay safe (:func:`~temporal_router.otel.configure_tracing`)
            and set before workers are built.

    Example::

        client = await Client.connect("127.0.0.1:7233", plugins=[RouterPlugin(order_router)])
        async with Worker(client, task_queue="orders"):
            ...
    """

    def __init__(
        self,
        *routers: WorkflowRouter,
        reactors: Reactors | None = None,
        migrations: Sequence[MigrationPipeline] = (),
        max_history_events: int = 2_000,
        remember_commands: int = 1_000,
        dispatch_timeout: timedelta | None = None,
        search_attributes: bool = True,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        passthrough_modules: Sequence[str] = (),
        extensions: Sequence[RouterExtension] = (),
        encryption_key: bytes | str | None = None,
        encrypt_headers: bool = False,
        otel: bool = False,
        trust: TrustPolicy | None = None,
    ) -> None:
        if not routers and not workflows:
            raise ConfigurationError(
                "RouterPlugin hosts nothing: pass routers, or workflows=[...] for plain "
                "workflows that use hooks"
            )
        names: dict[str, WorkflowRouter] = {}
        for router in routers:
            if not isinstance(router, WorkflowRouter):
                raise ConfigurationError(
                    f"RouterPlugin takes WorkflowRouter objects, got {router!r}"
                )
            other = names.setdefault(router.definition.name, router)
            if other is not router:
                raise ConfigurationError(
                    f"two routers for definition {router.definition.name!r}: merge them with "
                    "router.use(other) or give the definitions different names"
                )
        by_definition = {p.definition.name: p for p in migrations}
        unknown = set(by_definition) - set(names)
        if unknown:
            raise ConfigurationError(
                f"migrations for definitions no router hosts: {sorted(unknown)}"
            )
        if max_history_events < 100:
            raise ConfigurationError(f"max_history_events must be >= 100, got {max_history_events}")
        tracing: list[Any] = []
        if otel:
            from ..otel import otel_plugin

            # Installed only through RouterPlugin(otel=True), which knows the entity types
            # and Update it treats apart: not public in the otel package.
            from ..otel._interceptor import RouterTracingInterceptor

            telemetry = otel_plugin()
            for router in routers:
                router.use(telemetry)
            tracing.append(RouterTracingInterceptor(names, DISPATCH_UPDATE))
        for extension in extensions:
            if not isinstance(extension, RouterExtension):
                raise ConfigurationError(
                    f"extensions takes RouterExtension objects, got {extension!r}"
                )
            for router in routers:
                router.use(extension)
        self.routers = routers
        self.extensions = tuple(extensions)
        if trust is not None and not isinstance(trust, TrustPolicy):
            raise ConfigurationError(f"trust takes a TrustPolicy, got {trust!r}")
        self.trust = trust or TrustPolicy()
        self.codec = EncryptionCodec(encryption_key) if encryption_key is not None else None
        self.encrypt_headers = encrypt_headers
        self.entity_workflows: list[type[EntityWorkflow]] = [
            entity_workflow_class(
                router,
                EntityOptions(
                    max_history_events=max_history_events,
                    remember_commands=remember_commands,
                    dispatch_timeout=dispatch_timeout,
                    search_attributes=search_attributes,
                    reactors=reactors,
                    migrations=by_definition.get(router.definition.name),
                ),
            )
            for router in routers
        ]
        super().__init__(
            "temporal_router.RouterPlugin",
            data_converter=_converter_with(self.codec),
            workflows=_append_missing([*self.entity_workflows, *workflows]),
            activities=_append_missing([*ACTIVITIES, *activities]),
            workflow_runner=_with_passthrough([*PASSTHROUGH_MODULES, *passthrough_modules]),
            interceptors=[
                *tracing,
                RouterInterceptor(self.trust),
                *(i for extension in extensions for i in extension.interceptors),
            ],
        )

    def configure_client(self, config: ClientConfig) -> ClientConfig:
        """See base class; our interceptor is installed once however often we are."""
        config = super().configure_client(config)
        config["interceptors"] = _without_duplicate_router_interceptors(
            config.get("interceptors", ())
        )
        if self.encrypt_headers:
            config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
        return config

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        """See base class; our interceptor is installed once however often we are."""
        config = super().configure_worker(config)
        task_queue = config.get("task_queue")
        if task_queue:
            register_worker_trust(task_queue, self.trust.worker_trust())
        client = config.get("client")
        on_client = (
            list(client.config(active_config=True).get("interceptors", ()))
            if client is not None
            else []
        )
        config["interceptors"] = _without_duplicate_router_interceptors(
            config.get("interceptors", ()), already_installed=on_client
        )
        return config

    def configure_replayer(self, config: ReplayerConfig) -> ReplayerConfig:
        """See base class; our interceptor is installed once however often we are."""
        config = super().configure_replayer(config)
        config["interceptors"] = _without_duplicate_router_interceptors(
            config.get("interceptors", ())
        )
        return config

    def entity_workflow(self, definition_name: str) -> type[EntityWorkflow]:
        """The entity workflow class for ``definition_name``."""
        for cls in self.entity_workflows:
            if cls.router.definition.name == definition_name:
                return cls
        raise KeyError(definition_name)
