"""An adapter in Snakepit 0.4.1's style: its own execute_tool dispatch, the context's variable API, Elixir tools."""

from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.base_adapter import BaseAdapter, tool
from snakepit_bridge.session_context import VariableNotFoundError


class LegacyAdapter(BaseAdapter):
    def __init__(self):
        super().__init__()
        self.session_context = None

    def set_session_context(self, context):
        self.session_context = context

    def execute_tool(self, tool_name, arguments, context):
        handlers = {
            "remember": self.remember,
            "recall": self.recall,
            "bump": self.bump,
            "inventory": self.inventory,
            "ask_elixir": self.ask_elixir,
            "words": self.words,
            "typed": self.typed,
        }
        if tool_name not in handlers:
            raise ValueError(f"Unknown tool: {tool_name}")
        return handlers[tool_name](**arguments)

    @tool(description="Store a value in a session variable (registered on first use)")
    def remember(self, name: str, value, constraints: dict | None = None):
        ctx = self.session_context
        if name in ctx:
            ctx.update_variable(name, value)
        else:
            ctx.register_variable(name, "integer" if isinstance(value, int) else "string", value, constraints)
        return {"name": name, "value": ctx[name], "listed": [v["name"] for v in ctx.list_variables()]}

    @tool(description="Read a session variable")
    def recall(self, name: str):
        try:
            return {"value": self.session_context.get_variable(name)}
        except VariableNotFoundError as exc:
            return {"missing": str(exc)}

    @tool(description="ctx.v, proxies and batches")
    def bump(self, name: str):
        ctx = self.session_context
        setattr(ctx.v, name, (ctx[name] if name in ctx else 0) + 1)  # noqa: SIM401  (0.4's context has no .get)
        proxy = ctx.variable(name)
        proxy.value = proxy.value + 1
        with ctx.batch_updates() as batch:
            batch[name] = ctx[name] + 1
        return ctx.get_variables([name])

    @tool(description="Several variables at once")
    def inventory(self, updates: dict, atomic: bool = False):
        outcome = self.session_context.update_variables(updates, atomic=atomic)
        return {"outcome": outcome, "now": self.session_context.get_variables(sorted(updates))}

    @tool(description="Call an Elixir tool through the context")
    def ask_elixir(self, x: int):
        tools = self.session_context.elixir_tools
        return {"double": self.session_context.call_elixir_tool("double", x=x), "documented": tools["double"].__doc__}

    @tool(description="Stream words", supports_streaming=True)
    def words(self, text: str):
        for word in text.split():
            yield StreamChunk({"word": word}) if word.istitle() else word

    @tool(description="Values of several Python types")
    def typed(self, kind: str):
        return {"int": 5, "none": None, "tuple": (1, 2), "bytes": b"ab", "float": 2.5, "nested": {"t": (1, 2)}}[kind]
