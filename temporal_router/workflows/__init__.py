"""temporal_router.workflows"""
__all__: list[str] = []
