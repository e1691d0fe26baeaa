from snakepit_bridge.adapters.enhanced import EnhancedBridge

__all__ = ["EnhancedBridge"]
