"""temporal-router on Temporal: the plugin, the client, hooks, interceptors and a dev server."""

__all__: list[str] = []
