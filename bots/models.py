"""Which model answers: the configured servers, a local server found on its usual port, or
llama.cpp embedded in the process (downloading its model on first run)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from core.llm import ChatModel, OpenAIChatModel, endpoint_label
from core.local import catalog
from core.local.detect import Found, find_server, parse_candidates
from core.local.embedded import EmbeddedModel, available
from core.settings import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class Choice:
    model: ChatModel
    settings: Settings  # with the base URL and model of a found server filled in
    describe: str  # "Ollama at 127.0.0.1:11434, model llama3.2"
    embedded: EmbeddedModel | None = None
    found: Found | None = None


def explicit_model(settings: Settings) -> str | None:
    return settings.llm.model if "model" in settings.llm.model_fields_set else None


def local_model(settings: Settings) -> catalog.LocalModel:
    try:
        return catalog.resolve(settings.llm.local_model, settings.data_dir)
    except catalog.UnknownModel as err:
        raise ConfigError(str(err)) from None


def tried(settings: Settings) -> str:
    return ", ".join(f"{c.name} {c.port}" for c in parse_candidates(settings.llm.local_servers))


def missing_runtime(settings: Settings, why: str) -> ConfigError:
    found = f"no local model server answered ({tried(settings)})" if settings.llm.local_servers \
        else "no local model servers to look for"
    return ConfigError(
        f"{found} and the embedded model needs llama-cpp-python ({why}). Either start "
        "Ollama, LM Studio, vLLM or llama.cpp's server (or set KITH_LLM__BASE_URLS), or run "
        "pip install 'kith[local]' (it compiles llama.cpp: about 5 minutes on 2 cores)")


async def choose(settings: Settings, *, show_progress: bool | None = None) -> Choice:
    """Decide which model answers. Raises :class:`ConfigError` when none can."""
    llm = settings.llm
    if llm.configured:
        urls = ", ".join(endpoint_label(u) for u in llm.base_urls)
        return Choice(OpenAIChatModel(llm), settings, f"{urls}, model {llm.model}")
    found, notes = await find_server(parse_candidates(llm.local_servers), explicit_model(settings))
    if found is not None:
        llm = llm.model_copy(update={"base_urls": [found.candidate.base_url],
                                     "model": found.model})
        chosen = settings.model_copy(update={"llm": llm})
        return Choice(OpenAIChatModel(llm), chosen, found.describe(), found=found)
    for note in notes:
        print(f"kith: {note}", file=sys.stderr)
    why = available()
    if why is not None:
        raise missing_runtime(settings, why)
    local = local_model(settings)
    show = sys.stderr.isatty() if show_progress is None else show_progress
    embedded = EmbeddedModel(local, llm, show_progress=show)
    state = "" if local.present else " (downloading it first)"
    return Choice(embedded, settings, f"{local.name} on llama.cpp in this process{state}",
                  embedded=embedded)
