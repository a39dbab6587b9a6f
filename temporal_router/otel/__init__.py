"""temporal_router.otel"""
__all__: list[str] = []
