from enum import Enum


class VariableType(Enum):
    FLOAT = "float"
    INTEGER = "integer"
    STRING = "string"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MODULE = "module"
    EMBEDDING = "embedding"
    TENSOR = "tensor"
    MAP = "map"
    LIST = "list"


class TypeValidator:
    @classmethod
    def infer_type(cls, value):
        for kind, variable_type in (
            (bool, VariableType.BOOLEAN),
            (int, VariableType.INTEGER),
            (float, VariableType.FLOAT),
        ):
            if isinstance(value, kind):
                return variable_type
        if isinstance(value, dict):
            return VariableType.MAP
        return VariableType.LIST if isinstance(value, list) else VariableType.STRING
