"""The ``temporal-router`` command: run a dev stack or a worker, and talk to entities.

Subcommands (each has ``--help``)::

    temporal-router dev      --app examples.orders   embedded Temporal + Web UI + worker + traces
    temporal-router worker   --app examples.orders   a worker for deployment (TEMPORAL_ADDRESS ...)
    temporal-router dispatch ID COMMAND --payload '{"card_token": "tok"}' --identity ada --role customer
    temporal-router create   ID --state Placed --data @order.json
    temporal-router get      ID
    temporal-router list     [--state S]
    temporal-router hook     ID --hook-task-queue Q --workflow-name W [--args '[...]']
    temporal-router signal   ID SIGNAL_ID [--data JSON]   answer a workflow's wait_for
    temporal-router doctor   [--create-search-attributes]   is the server ready for the app?
    temporal-router graph    --app examples.orders   Mermaid diagram of states x commands
    temporal-router traces   [WORKFLOW_ID]           the local trace file as a waterfall

The app (``--app`` or ``TEMPORAL_ROUTER_APP``) is ``module`` or ``module:attribute``, naming
a ``RouterPlugin``, a ``WorkflowRouter`` or a list of routers; a bare module is searched for
``plugin``, then ``router``, then ``routers``. Modules are imported with the working directory
on ``sys.path``. Its ``TASK_QUEUE`` attribute, if any, is the default task queue.

Client commands connect to ``--address``, else ``TEMPORAL_ADDRESS`` (with the standard
``TEMPORAL_*`` TLS and API-key variables), else the server a running ``temporal-router dev``
recorded in ``.temporal-router/dev.json``. ``--identity``, ``--role``, ``--tenant`` and
``--correlation-id`` set the caller context that the entity's middleware sees.

Exit codes: 0 success; 1 the command was refused (a failed dispatch result, no such
entity); 2 bad input (nothing was sent); 3 the server could not be reached, refused the call
or no worker answered; 4 a bug in temporal-router (``--debug`` shows its traceback); 130
interrupted. Errors are one line on stderr naming the problem and the fix.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import traceback
from collections.abc import Sequence

from ..router import ConfigurationError
from ._app import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, CliError
from ._parser import build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``temporal-router`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    if not hasattr(args, "app"):
        args.app = None
    debug = bool(getattr(args, "debug", False)) or os.environ.get(
        "TEMPORAL_ROUTER_DEBUG", ""
    ).strip().lower() not in ("", "0", "false", "no", "off")
    try:
        from_stdin = [
            f"--{n}" for n in ("payload", "data", "args") if getattr(args, n, None) == "-"
        ]
        if len(from_stdin) > 1:
            raise CliError(
                f"{' and '.join(from_stdin)} both read standard input, which can feed one "
                "argument only: give the others as @FILE"
            )
        return int(asyncio.run(args.run(args)))
    except CliError as exc:
        return _fail(str(exc), exc.code, debug)
    except ConfigurationError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT, debug)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `temporal-router traces | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except RecursionError:  # a JSON or trace file nested deeper than Python recurses
        return _fail("the input is nested too deeply to read", EXIT_BAD_INPUT, debug)
    except Exception as exc:  # a bug of ours: still no traceback unless asked for
        return _fail(
            f"unexpected {type(exc).__name__}: {exc}\n"
            "  this is a bug in temporal-router; rerun with --debug for the traceback and "
            "report it",
            EXIT_INTERNAL,
            debug,
        )
    finally:
        # Free Temporal clients (held in reference cycles) now, while the interpreter is
        # whole: left to the collector at interpreter shutdown, temporalio 1.35's native
        # client crashes the process (SIGABRT/SIGSEGV) in about one run in seven.
        gc.collect()


def _fail(message: str, code: int, debug: bool) -> int:
    if debug:
        error = sys.exc_info()[1]
        # Our one-line errors are raised `from None`; --debug wants what was behind them.
        if error is not None:
            error.__suppress_context__ = False
        traceback.print_exc()
    print(f"temporal-router: error: {message}", file=sys.stderr)
    return code
