"""``temporal-router doctor``: is this server ready for the app? Checks what the other
commands need and, with ``--create-search-attributes``, fixes what it can."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ._app import EXIT_OK, EXIT_SERVER, _app, _client, _say

__all__ = ["cmd_doctor"]


async def cmd_doctor(args: argparse.Namespace) -> int:
    from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import (
        DescribeNamespaceRequest,
        DescribeTaskQueueRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    from ..workflows import SEARCH_ATTRIBUTES

    app = _app(args)
    assert app is not None
    namespace = args.namespace or os.environ.get("TEMPORAL_NAMESPACE") or "default"
    task_queue = args.task_queue or app.task_queue
    problems = 0

    def report(ok: bool, text: str, fix: str = "") -> None:
        nonlocal problems
        problems += not ok
        _say(f"{'ok  ' if ok else 'FAIL'} {text}" + ("" if ok or not fix else f"\n     fix: {fix}"))

    async with _client(args, [app.plugin]) as client:
        report(True, f"server {client.service_client.config.target_host} answers")
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            report(
                False,
                f"namespace {namespace!r} does not exist",
                f"temporal operator namespace create --namespace {namespace}",
            )
            return EXIT_SERVER
        report(True, f"namespace {namespace!r} exists")

        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        have: dict[str, Any] = dict(listed.custom_attributes)
        missing = [key.name for key in SEARCH_ATTRIBUTES if key.name not in have]
        if missing and args.create_search_attributes:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace,
                    search_attributes={
                        name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in missing
                    },
                )
            )
            _say(f"     created the search attributes {', '.join(missing)}")
            missing = []
        wrong = [
            key.name
            for key in SEARCH_ATTRIBUTES
            if key.name in have and have[key.name] != IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        ]
        names = " and ".join(key.name for key in SEARCH_ATTRIBUTES)
        where = (
            f"--app {args.app or '...'}"
            + (f" --namespace {namespace}" if namespace != "default" else "")
            + (f" --address {args.address}" if args.address else "")
        )
        report(
            not missing and not wrong,
            f"search attributes {names}"
            + (f": missing {', '.join(missing)}" if missing else "")
            + (f": not Keyword: {', '.join(wrong)}" if wrong else ""),
            f"temporal-router doctor {where} --create-search-attributes"
            if missing and not wrong
            else f"remove {', '.join(wrong)} (temporal operator search-attribute remove "
            f"--namespace {namespace} --name NAME), then: temporal-router doctor {where} "
            "--create-search-attributes",
        )

        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        pollers = len(described.pollers)
        report(
            pollers > 0,
            f"task queue {task_queue!r}: "
            + (f"{pollers} worker(s) polling" if pollers else "no worker has polled it lately"),
            f"start a worker: temporal-router worker {where}",
        )
    return EXIT_OK if problems == 0 else EXIT_SERVER
