"""The ``kith`` command: serve the fleet, chat in the terminal, check the configuration,
apply database migrations, fetch and list local models."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dotenv import load_dotenv

from adapters import webauth
from bots import preflight
from bots.fleet import BotDefinition, load_fleet
from bots.learning_check import learning_line
from bots.models import Choice, choose, explicit_model, local_model
from core.llm import ChatModel, LLMError
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
    sub.add_parser("migrate", help="apply the database migrations and exit (a Kubernetes Job "
                                   "or init container; serve also migrates at start)")
    model = sub.add_parser("model", help="the local models llama.cpp can run")
    verbs = model.add_subparsers(dest="verb", required=True)
    pull = verbs.add_parser("pull", help="download a model (default: KITH_LLM__LOCAL_MODEL)")
    pull.add_argument("name", nargs="?", help="a name from `kith model list`")
    verbs.add_parser("list", help="the models Kith knows and which are downloaded")
    sub.add_parser("token", help="make a strong web token and store it in ./.env")
    return parser


GRACEFUL = 2  # seconds open HTTP requests get after SIGTERM


def default_bots_dir() -> Path:
    """The bots shipped inside the package (``bots/kith``), found from any directory."""
    return Path(__file__).resolve().parent


def load_all() -> tuple[Settings, list[BotDefinition]]:
    load_dotenv(override=False)  # bot tokens named in bot.toml may live in .env
    settings = load_settings()
    if settings.bots_dir is None:
        settings = settings.model_copy(update={"bots_dir": default_bots_dir()})
    assert settings.bots_dir is not None
    fleet = load_fleet(settings.bots_dir)
    urls = [getattr(c, "public_url", None) for b in fleet for c in b.channels.values()]
    webauth.check_token(settings.gateway, [u for u in urls if isinstance(u, str)])
    return settings, fleet


async def _ready(choice: Choice) -> None:
    """Fetch and load the embedded model now (chat and pull wait for it)."""
    if choice.embedded is not None:
        try:
            await choice.embedded.ready()
        except LLMError as err:
            raise ConfigError(str(err)) from None


async def _serve(settings: Settings, fleet: list[BotDefinition]) -> int:
    import uvicorn

    from bots import connections
    from bots.gateway import build_app
    from bots.runtime import Kith

    await _storage(settings)
    sock = preflight.gateway_socket(settings)
    choice = await choose(settings)
    if choice.embedded is not None and choice.embedded.local.present:
        # load before serving: llama-cpp-python silences the whole process's stdout and
        # stderr (file descriptors 1 and 2) while it opens a model
        await _ready(choice)
    elif choice.embedded is not None:
        choice.embedded.start()  # downloads in the background; the page shows progress
    kith = Kith(choice.settings, fleet, model=choice.model)
    app = build_app(kith)
    # SIGTERM: open requests get GRACEFUL seconds, then Kith stops (bounded): out in < 10 s
    config = uvicorn.Config(
        app, host=settings.gateway.host, port=settings.gateway.port, log_config=None,
        access_log=False, lifespan="on", timeout_graceful_shutdown=GRACEFUL,
        **connections.uvicorn_options(settings.gateway),
    )
    connections.quiet_accept_errors(asyncio.get_running_loop())
    host, port = settings.gateway.host, sock.getsockname()[1]

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            kith.request_stop()  # also while starting: stop waiting for slow channels

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # the one line a person needs
                shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
                print(f"Kith is ready: open http://{shown}:{port}/ to chat "
                      f"— answering with {choice.describe}", flush=True)
                log.info("serving", host=host, port=port, model=choice.describe,
                         bots=[b.profile.name for b in fleet])

    server = Server(config)
    await server.serve(sockets=[sock])
    return 0 if server.started else 1


async def _storage(settings: Settings) -> None:
    """The data directory is usable; PostgreSQL is reachable and migrated (one line if not)."""
    preflight.storage(settings)
    if settings.database_url is not None:
        applied = await preflight.migrate_database(settings)
        if applied:
            log.info("database_migrated", applied=applied)


async def _migrate(settings: Settings) -> int:
    preflight.storage(settings)
    if settings.database_url is None:
        from core.store.sqlite import SQLiteStore

        store = SQLiteStore(settings.data_dir / preflight.DB_NAME, settings.sqlite_synchronous)
        await store.open()  # SQLite migrates when it opens
        await store.close()
        print(f"SQLite database {settings.data_dir / preflight.DB_NAME} is up to date")
        return 0
    applied = await preflight.migrate_database(settings)
    print(f"applied {len(applied)} migrations: {', '.join(applied)}" if applied
          else "the database is up to date")
    return 0


async def _check(settings: Settings, fleet: list[BotDefinition]) -> int:
    from bots.reach import mcp_lines, web_line
    from bots.runtime import secret_vault

    secret_vault(settings)  # a secret key file others may read stops here too (exit 2)
    for bot in fleet:
        print(f"bot {bot.profile.name}: channels {', '.join(bot.channels)} — ok")
    if (learning := learning_line(settings.data_dir / preflight.DB_NAME)) is not None:
        print(learning)
    platforms = await _check_channels(fleet)
    print(web_line(settings))
    for line in await mcp_lines(fleet):
        print(line)
    choice = await choose(settings, show_progress=False)
    try:
        return max(await _check_model(choice, fleet), platforms)
    finally:
        await _close(choice.model)


async def _check_channels(fleet: list[BotDefinition]) -> int:
    """Ask each channel's platform whether it answers (``kith serve`` would keep retrying
    a channel whose platform is down, and run the others)."""
    from bots.registry import channel_spec

    failed = 0
    for bot in fleet:
        for name, config in bot.channels.items():
            probe = channel_spec(name).probe
            if probe is None:
                continue
            problem = await probe(config)
            print(f"bot {bot.profile.name} channel {name}: "
                  + (problem or "the platform answers"))
            failed |= problem is not None
    return 1 if failed else 0


async def _check_model(choice: Choice, fleet: list[BotDefinition]) -> int:
    if choice.embedded is not None:
        local = choice.embedded.local
        where = (f"at {local.path}" if local.present
                 else f"not downloaded yet ({local.path}; `kith model pull` or the first "
                      "`kith serve` fetches it)")
        print(f"llm: {local.name} on llama.cpp in this process, {where}")
        return await _check_media(choice.settings, fleet, [])
    if choice.found is not None:
        print(f"llm: found {choice.describe}")
    probe = getattr(choice.model, "probe", None)
    result = await probe() if probe is not None else {}
    wanted = explicit_model(choice.settings)
    for label, answer in result.items():
        if answer.ok:
            served = ", ".join(answer.models) or "no models listed"
            note = "" if not answer.models or choice.settings.llm.model in answer.models else (
                f" — but not {choice.settings.llm.model}; set KITH_LLM__MODEL")
            print(f"llm {label}: answers, serving {served}{note}")
        else:
            print(f"llm {label}: does not answer ({answer.error})")
    if not any(answer.ok for answer in result.values()):
        print("No language model endpoint answers: start vLLM or llama.cpp (see infra/) "
              "or set KITH_LLM__BASE_URLS.")
        return 1
    models = {m for answer in result.values() for m in answer.models}
    if wanted is not None and models and wanted not in models:
        raise ConfigError(f"KITH_LLM__MODEL: no endpoint serves {wanted} "
                          f"(served: {', '.join(sorted(models))})")
    return await _check_media(choice.settings, fleet, sorted(models))


async def _check_media(settings: Settings, fleet: list[BotDefinition], served: list[str]) -> int:
    from core.media.probe import probe_speech, vision_lines

    line, ok = await probe_speech(settings)
    print(line)
    bots = {bot.profile.name: bot.profile.vision_model for bot in fleet}
    for vision in vision_lines(settings.llm.vision_model, bots, served):
        print(vision)
    return 0 if ok else 1


async def _close(model: ChatModel) -> None:
    close = getattr(model, "aclose", None)
    if close is not None:
        await close()


async def _chat(settings: Settings, fleet: list[BotDefinition], args: argparse.Namespace) -> int:
    from bots.chat import run_chat

    await _storage(settings)
    choice = await choose(settings)
    try:
        await _ready(choice)
    except ConfigError:
        await _close(choice.model)
        raise
    return await run_chat(choice.settings, fleet, args.bot, args.session,
                          model=choice.model, describe=choice.describe)


async def _model(settings: Settings, args: argparse.Namespace) -> int:
    from core.local import catalog
    from core.local.pull import PullError, pull

    if args.verb == "list":
        chosen = local_model(settings).name
        for spec in catalog.CATALOG:
            path = catalog.models_dir(settings.data_dir) / spec.filename
            mark = "*" if spec.name == chosen else " "
            state = "downloaded" if path.is_file() else "not downloaded"
            print(f"{mark} {spec.name:<14} {state:<15} {spec.about}")
        print(f"(* = KITH_LLM__LOCAL_MODEL; files live in {catalog.models_dir(settings.data_dir)})")
        return 0
    name = args.name or settings.llm.local_model
    try:
        local = catalog.resolve(name, settings.data_dir)
    except catalog.UnknownModel as err:
        raise ConfigError(str(err).replace("KITH_LLM__LOCAL_MODEL", "kith model pull")) from None
    preflight.data_dir(settings.data_dir)
    try:
        path = await asyncio.to_thread(pull, local, show=True)
    except PullError as err:
        raise ConfigError(str(err)) from None
    print(f"{local.name} is ready at {path} (sha256 checked)")
    return 0


def _token() -> int:
    """A new web token in ./.env (read at every start), and where it went."""
    path = Path(".env").resolve()
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    token = webauth.generate()
    kept = [line for line in lines if not line.startswith(f"{webauth.TOKEN_ENV}=")]
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join([*kept, f"{webauth.TOKEN_ENV}={token}"]) + "\n",
                    encoding="utf-8")
    print(f"A new web token ({webauth.TOKEN_ENV}) is stored in {path}; Kith reads it from "
          "there when started in that directory. Open /chat/<bot>?token=<the token> once in "
          "your browser (it becomes a cookie), or send 'Authorization: Bearer <the token>'.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "token":
        return _token()
    try:
        settings, fleet = load_all()
    except ConfigError as err:
        print(f"kith: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    level: str = settings.log_level
    if args.command != "serve" and "log_level" not in settings.model_fields_set:
        # keep the terminal for the conversation: chat prints its own line when a turn fails
        level = "CRITICAL" if args.command == "chat" else "ERROR"
    configure(level, settings.log_json)
    try:
        if args.command == "serve":
            return asyncio.run(_serve(settings, fleet))
        if args.command == "check":
            return asyncio.run(_check(settings, fleet))
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "model":
            return asyncio.run(_model(settings, args))
        return asyncio.run(_chat(settings, fleet, args))
    except ConfigError as err:
        print(f"kith: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
