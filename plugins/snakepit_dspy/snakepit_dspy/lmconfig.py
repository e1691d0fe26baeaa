"""Building LMs from ``configure_lm`` parameters, and choosing the LM of one call.

API keys: from ``api_key``, from the environment variable named by
``api_key_env``, or (neither given) from the provider's usual variable,
which LiteLLM reads itself; with DSPex's ``model_type``, the variables of
:data:`~snakepit_dspy.catalog.MODEL_TYPES` are read here, so a missing key
is reported at once. A key never appears in a response, a log line or an
error message: messages of failed constructions are redacted. A key from
the environment goes only to the provider's own endpoint or to one the
operator listed (:mod:`snakepit_dspy.endpoints`).

Per call, the session's LM (else the host default) is copied with the
settings bound to session variables (:mod:`snakepit_dspy.bindings`), and the
copy is passed to ``dspy.context`` by the caller; ``dspy.configure`` is
never used, so concurrent sessions never see each other's LM. The host
default is the operator's (``--dspy-default-lm``), built on first use.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

from snakepit_dspy.catalog import BINDABLE_SETTINGS, LM_SETTING_RANGES, LM_SETTINGS, MODEL_TYPES
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.endpoints import allowed_endpoints, check_api_base
from snakepit_dspy.scripted import scripted_lm
from snakepit_dspy.session_state import LMConfig, dspy_host, session_state
from snakepit_host import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from snakepit_host import Host, SessionContext

log = logging.getLogger("snakepit_dspy")

DUMMY_MODEL = "dummy"
_ONLINE_ONLY = ("provider", "model_type", "api_key", "api_key_env", "api_base", "cache", "num_retries")


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


def configure(params: dict[str, Any], scope: str, host: Host) -> LMConfig:
    """An :class:`LMConfig` from ``configure_lm`` parameters (nothing is contacted yet).

    ``host`` gives the operator's endpoints that may receive a key from this
    worker's environment (option ``dspy_api_bases``), read only when an
    ``api_base`` is given.
    """
    params = {name: value for name, value in params.items() if value is not None}  # api_key null: not given
    model = _model(params)
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
    if "api_base" in extra and "api_key" not in params:
        check_api_base(extra["api_base"], allowed_endpoints(host.option("dspy_api_bases")))
    lm = build_lm(model, api_key, extra, settings)
    log.info("configured LM %s (%s scope, api key: %s)", model, scope, key_source)
    return LMConfig(
        model=model, settings=settings, lm=lm, key_source=key_source, scope=scope, api_key=api_key, extra=extra
    )


def _model(params: dict[str, Any]) -> str:
    """The LiteLLM model string: ``model``, prefixed by ``provider`` or by ``model_type``'s provider."""
    model = str(params["model"]).strip()
    if "model_type" in params:
        prefix = provider_of(params["model_type"])[0]
        return model if model.startswith(f"{prefix}/") else f"{prefix}/{model}"
    provider = params.get("provider")
    if provider and "/" not in model and model != DUMMY_MODEL:
        return f"{provider.strip()}/{model}"
    return model


def provider_of(model_type: str) -> tuple[str, tuple[str, ...]]:
    """LiteLLM's prefix and the key variables for a DSPex ``model_type``; InvalidArgument for one not known."""
    known = MODEL_TYPES.get(model_type.strip().lower())
    if known is None:
        raise InvalidArgument(
            f"configure_lm: unknown model_type {model_type[:60]!r}; known: {', '.join(MODEL_TYPES)} "
            "(or give a LiteLLM model string such as 'openai/gpt-4o-mini' as model, without model_type)"
        )
    return known


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
        return _from_environment(name, f"environment variable {name!r} (api_key_env) is not set or empty")
    if "model_type" in params:
        variables = provider_of(params["model_type"])[1]
        found = next((name for name in variables if os.environ.get(name)), None)
        if found is not None:
            return _from_environment(found, "")
        if variables:
            raise InvalidArgument(
                f"configure_lm: no API key for model_type {params['model_type']!r}: pass api_key, "
                f"or set {' or '.join(variables)} in the worker's environment"
            )
        return None, "not needed"
    return None, "provider default (environment)"


def _from_environment(name: str, missing: str) -> tuple[str, str]:
    value = os.environ.get(name)
    if not value:
        raise InvalidArgument(f"configure_lm: {missing}")
    return value, f"from environment variable {name}"


KEY_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*(_API_KEY|_KEY|_TOKEN)$")


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


def default_config(host: Host) -> LMConfig | None:
    """The host-wide default LM: one a caller set (if the operator allows it), else the operator's, built now."""
    state = dspy_host(host)
    with state.lock:
        if state.default_lm is None and host.option("dspy_default_lm").strip():
            try:
                state.default_lm = configure({"model": host.option("dspy_default_lm")}, "default", host)
            except InvalidArgument as exc:
                raise FailedPrecondition(f"option --dspy-default-lm (SNAKEPIT_DSPY_DEFAULT_LM): {exc}") from None
        return state.default_lm


def active_config(ctx: SessionContext) -> LMConfig | None:
    """The session's LM, else the host-wide default, else None."""
    return session_state(ctx).lm or default_config(ctx.host)


def lm_for_call(ctx: SessionContext, bound: dict[str, Any]) -> Any:
    """The LM one call uses: the active LM, switched to a bound model and copied with bound settings."""
    config = active_config(ctx)
    if config is None:
        raise FailedPrecondition(
            f"LM not configured for session '{ctx.session_id}': call configure_lm first "
            '(e.g. {"model": "dummy", "answers": [{"answer": "Paris"}]} offline), '
            "or have the operator set a host-wide default (--dspy-default-lm)"
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
