from snakepit_bridge.adapters.showcase.showcase_adapter import ShowcaseAdapter

__all__ = ["ShowcaseAdapter"]
