import logging


def configure_logging(force: bool = False) -> None:
    logging.getLogger("snakepit").setLevel(logging.INFO)


def get_logger(name: str) -> logging.Logger:
    if name.startswith("snakepit_bridge."):
        return logging.getLogger("snakepit.bridge." + name[len("snakepit_bridge.") :])
    return logging.getLogger(f"snakepit.{name}")
