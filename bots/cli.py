"""The ``kith`` command: serve the fleet, chat in the terminal, check the configuration."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

from bots.fleet import BotDefinition, load_fleet
from core.logging import configure, get_logger
from core.settings import ConfigError, Settings, load_settings

log = get_logger("kith.cli")
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kith", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run every bot of the fleet and the HTTP gateway")
    chat = sub.add_parser("chat", help="talk to a bot in the terminal (stdin may be a pipe)")
    chat.add_argument("--bot", help="which bot (default: the first with a terminal channel)")
    chat.add_argument("--session", help="conversation name, to continue an earlier one")
    sub.add_parser("check", help="validate config and bots, try every LLM endpoint")
    return parser


MIN_TOKEN = 16  # characters of KITH_GATEWAY__WEBCHAT_TOKEN when reachable off this machine


def load_all() -> tuple[Settings, list[BotDefinition]]:
    load_dotenv(override=False)  # bot tokens named in bot.toml may live in .env
    settings = load_settings()
    gateway = settings.gateway
    token = gateway.webchat_token
    if not gateway.local and (token is None or len(token.get_secret_value()) < MIN_TOKEN):
        raise ConfigError(f"KITH_GATEWAY__WEBCHAT_TOKEN: required (at least {MIN_TOKEN} "
                          f"characters) when the gateway listens on {gateway.host} "
                          "(not loopback)")
    return settings, load_fleet(settings.bots_dir)


async def _serve(settings: Settings, fleet: list[BotDefinition]) -> int:
    import uvicorn

    from bots.gateway import build_app
    from bots.runtime import Kith

    app = build_app(Kith(settings, fleet))
    config = uvicorn.Config(
        app, host=settings.gateway.host, port=settings.gateway.port, log_config=None,
        access_log=False, lifespan="on", timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    log.info("serving", host=settings.gateway.host, port=settings.gateway.port,
             bots=[b.profile.name for b in fleet])
    await server.serve()
    return 0 if server.started else 1


async def _check(settings: Settings, fleet: list[BotDefinition]) -> int:
    from core.llm import OpenAIChatModel

    for bot in fleet:
        print(f"bot {bot.profile.name}: channels {', '.join(bot.channels)} — ok")
    model = OpenAIChatModel(settings.llm)
    try:
        result = await model.probe()
    finally:
        await model.aclose()
    for label, probe in result.items():
        if probe.ok:
            served = ", ".join(probe.models) or "no models listed"
            note = "" if not probe.models or settings.llm.model in probe.models else (
                f" — but not {settings.llm.model}; set KITH_LLM__MODEL")
            print(f"llm {label}: answers, serving {served}{note}")
        else:
            print(f"llm {label}: does not answer ({probe.error})")
    if not any(probe.ok for probe in result.values()):
        print("No language model endpoint answers: start vLLM or llama.cpp (see infra/) "
              "or set KITH_LLM__BASE_URLS.")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings, fleet = load_all()
    except ConfigError as err:
        print(f"kith: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    level = settings.log_level
    if args.command != "serve" and "log_level" not in settings.model_fields_set:
        level = "WARNING"  # keep the terminal for the conversation
    configure(level, settings.log_json)
    try:
        if args.command == "serve":
            return asyncio.run(_serve(settings, fleet))
        if args.command == "check":
            return asyncio.run(_check(settings, fleet))
        from bots.chat import run_chat

        return asyncio.run(run_chat(settings, fleet, args.bot, args.session))
    except ConfigError as err:
        print(f"kith: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
