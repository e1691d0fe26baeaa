"""Building LMs from ``configure_lm`` parameters, and choosing the LM of one call.

API keys: from ``api_key``, from the environment variable named by
``api_key_env``, or (neither given) from the provider's usual variable,
which LiteLLM reads itself. A key never appears in a response, a log line
or an error message: messages of failed constructions are redacted.

Per call, the session's LM (else the host default) is copied with the
settings bound to session variables (:mod:`snakepit_dspy.bindings`), and the
copy is passed to ``dspy.context`` by the caller; ``dspy.configure`` is
never used, so concurrent sessions never see each other's LM.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

from snakepit_dspy.catalog import BINDABLE_SETTINGS, LM_SETTING_RANGES, LM_SETTINGS
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.scripted import scripted_lm
from snakepit_dspy.session_state import LMConfig, active_lm
from snakepit_host import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from snakepit_host import Host, SessionContext

log = logging.getLogger("snakepit_dspy")

DUMMY_MODEL = "dummy"
_ONLINE_ONLY = ("provider", "api_key", "api_key_env", "api_base", "cache", "num_retries")


def check_setting(name: str, value: object, where: str) -> Any:
    """A valid value for an LM setting read from a session variable, or InvalidArgument naming ``where``.

    configure_lm's own parameters are checked by the host against the same
    ranges (its schema is built from :data:`~snakepit_dspy.catalog.LM_SETTING_RANGES`).
    """
    if name == "model":
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(f"{where}: model must be a non-empty string, got {value!r:.60}")
        return value.strip()
    low, high = LM_SETTING_RANGES[name]
    if name == "max_tokens":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"{where}: max_tokens must be an integer, got {value!r:.60}")
    elif not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InvalidArgument(f"{where}: {name} must be a number, got {value!r:.60}")
    if not low <= value <= high:
        raise InvalidArgument(f"{where}: {name} must be between {low:g} and {high:g}, got {value}")
    return value


def configure(params: dict[str, Any], scope: str, allowed_api_bases: list[str]) -> LMConfig:
    """An :class:`LMConfig` from ``configure_lm`` parameters (nothing is contacted yet).

    ``allowed_api_bases``: the endpoint prefixes that may receive a key from
    this worker's environment (option ``dspy_api_bases``).
    """
    model = params["model"].strip()
    provider = params.get("provider")
    if provider and "/" not in model and model != DUMMY_MODEL:
        model = f"{provider.strip()}/{model}"
    settings = {name: params[name] for name in LM_SETTINGS if name in params}
    if "max_tokens" in settings:
        settings["max_tokens"] = int(settings["max_tokens"])  # JSON Schema counts 256.0 as an integer
    if model == DUMMY_MODEL:
        stray = [name for name in _ONLINE_ONLY if name in params]
        if stray:
            raise InvalidArgument(f"configure_lm: model 'dummy' is offline and takes no {', '.join(stray)}")
        lm = scripted_lm(params.get("answers"), settings)
        return LMConfig(model=model, settings=settings, lm=lm, key_source="not needed", scope=scope)
    if "answers" in params:
        raise InvalidArgument("configure_lm: 'answers' is only for model 'dummy'")
    api_key, key_source = _api_key(params)
    extra: dict[str, Any] = {name: params[name] for name in ("api_base", "cache", "num_retries") if name in params}
    if "api_base" in extra:
        extra["api_base"] = _check_api_base(
            extra["api_base"], from_environment="api_key" not in params, allowed=allowed_api_bases
        )
    lm = build_lm(model, api_key, extra, settings)
    log.info("configured LM %s (%s scope, api key: %s)", model, scope, key_source)
    return LMConfig(
        model=model, settings=settings, lm=lm, key_source=key_source, scope=scope, api_key=api_key, extra=extra
    )


def _api_key(params: dict[str, Any]) -> tuple[str | None, str]:
    if "api_key" in params:
        return params["api_key"], "from parameters"
    if "api_key_env" in params:
        name = params["api_key_env"]
        if not KEY_VARIABLE.match(name):
            raise InvalidArgument(
                "configure_lm: "
                f"api_key_env must name an API-key variable (upper case, ending in _API_KEY, _KEY or _TOKEN), "
                f"not {name[:100]!r}"
            )
        value = os.environ.get(name)
        if not value:
            raise InvalidArgument(f"configure_lm: environment variable {name!r} (api_key_env) is not set or empty")
        return value, f"from environment variable {name}"
    return None, "provider default (environment)"


KEY_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*(_API_KEY|_KEY|_TOKEN)$")
ALLOWED_API_BASES_ENV = "SNAKEPIT_DSPY_API_BASES"
"""The environment variable of option ``dspy_api_bases`` (declared in :mod:`snakepit_dspy.plugin`)."""


def allowed_api_bases(host: Host) -> list[str]:
    """The operator's comma-separated ``dspy_api_bases``, as a list of prefixes."""
    return [prefix.strip() for prefix in host.option("dspy_api_bases").split(",") if prefix.strip()]


def _check_api_base(api_base: str, *, from_environment: bool, allowed: list[str]) -> str:
    """An endpoint may receive a key from this worker's environment only if the operator allowed it.

    With ``api_key`` in the call, the caller sends its own key wherever it
    likes. A key read from the environment (``api_key_env``, or the
    provider's usual variable) goes only to endpoints listed, by prefix, in
    ``SNAKEPIT_DSPY_API_BASES`` (comma-separated), so a call cannot send the
    worker's secrets to an address of its choosing.
    """
    if not from_environment:
        return api_base
    if any(api_base.startswith(prefix) for prefix in allowed):
        return api_base
    raise InvalidArgument(
        f"configure_lm: api_base {api_base[:200]!r} would receive the API key from this worker's environment; "
        f"list it in {ALLOWED_API_BASES_ENV} (comma-separated prefixes) or pass api_key with the call"
    )


def build_lm(model: str, api_key: str | None, extra: dict[str, Any], settings: dict[str, Any]) -> Any:
    """``dspy.LM(...)``; a failure is reported without the key (and without chaining the original)."""
    arguments = dict(extra, **settings)
    if api_key is not None:
        arguments["api_key"] = api_key
    try:
        return dspy.LM(model, **arguments)
    except Exception as exc:
        message = redact(f"{type(exc).__name__}: {exc}", api_key)
        raise InvalidArgument(f"configure_lm: DSPy refused model {model!r}: {message}") from None


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def lm_for_call(ctx: SessionContext, bound: dict[str, Any]) -> Any:
    """The LM one call uses: the active LM, switched to a bound model and copied with bound settings."""
    config = active_lm(ctx)
    if config is None:
        raise FailedPrecondition(
            f"no LM configured for session '{ctx.session_id}': call configure_lm first "
            '(e.g. {"model": "dummy", "answers": [{"answer": "Paris"}]} offline), '
            "or configure a host-wide default with default=true"
        )
    settings = dict(bound)
    model = settings.pop("model", config.model)
    lm = config.lm if model == config.model else _switched(config, model)
    return lm.copy(**settings) if settings else lm


def _switched(config: LMConfig, model: str) -> Any:
    """The configured LM's arguments with another model, if that sends no key where it does not belong."""
    refusal = None
    if DUMMY_MODEL in (model, config.model):
        refusal = "switching to or from the dummy model"
    elif config.api_key is not None and _provider(model) != _provider(config.model):
        refusal = "a model of another provider (the configured API key must not be sent to it)"
    if refusal:
        raise FailedPrecondition(
            f"the model bound to a session variable is {model!r} but the configured LM is {config.model!r}; "
            f"{refusal} needs configure_lm"
        )
    return build_lm(model, config.api_key, config.extra, config.settings)


def _provider(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else ""


def lm_summary(lm: Any) -> dict[str, Any]:
    """Model and sampling settings of the LM object a call actually used (never its key)."""
    summary: dict[str, Any] = {"model": lm.model}
    summary.update({k: v for k, v in lm.kwargs.items() if k in BINDABLE_SETTINGS and v is not None})
    return summary
