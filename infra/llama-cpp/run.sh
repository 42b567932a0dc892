#!/usr/bin/env bash
# llama.cpp's llama-server as Kith's LLM on a CPU-only dev box.
#
#   infra/llama-cpp/run.sh ~/models/Llama-3.1-8B-Instruct-Q4_K_M.gguf [extra llama-server flags]
#
# Then, in another shell:
#   export KITH_LLM__BASE_URLS=http://127.0.0.1:8000/v1 KITH_LLM__MODEL=kith-llama
#   kith check && kith chat
#
# Any Llama 3.x Instruct GGUF works; Q4_K_M is the usual size/quality trade-off
# on CPU (8B: ~4.9 GB of weights, wants ~8 GB of free RAM with the cache below;
# 3B: ~2 GB, a good deal faster). The model is not downloaded here.
#
# Tunables (environment):
#   LLAMA_SERVER    llama-server binary             (default: llama-server on PATH)
#   LLAMA_PORT      listen port                     (default: 8000, Kith's default base URL)
#   LLAMA_CTX       total context, in tokens        (default: 16384)
#   LLAMA_PARALLEL  concurrent slots                (default: 2)
#   LLAMA_THREADS   generation threads              (default: llama.cpp's choice, the physical cores)
#   LLAMA_ALIAS     model name in the API           (default: kith-llama, same as infra/vllm)
#   LLAMA_API_KEY   read by llama-server itself; when set, give Kith the same as KITH_LLM__API_KEY
#   LLAMA_MMPROJ    a vision projector GGUF (mmproj-*.gguf) for a vision model: photos
#                   then work on CPU too; set KITH_LLM__VISION_MODEL to LLAMA_ALIAS
#                   (e.g. Llama 4 Scout's or Gemma 3's GGUF with its mmproj file; Llama
#                   3.x text models have none)
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    echo "usage: $0 MODEL.gguf [extra llama-server flags...]" >&2
    exit 2
fi

model=$1
shift
if [[ ! -f "$model" ]]; then
    echo "error: model file not found: $model" >&2
    exit 1
fi

server=${LLAMA_SERVER:-llama-server}
if ! command -v "$server" >/dev/null 2>&1; then
    echo "error: '$server' not found; build llama.cpp (cmake --build build -t llama-server)" >&2
    echo "       or set LLAMA_SERVER=/path/to/llama-server" >&2
    exit 1
fi

ctx=${LLAMA_CTX:-16384}
parallel=${LLAMA_PARALLEL:-2}

args=(
    --model "$model"
    --alias "${LLAMA_ALIAS:-kith-llama}"

    # Loopback only: there is no authentication unless LLAMA_API_KEY is set.
    --host 127.0.0.1
    --port "${LLAMA_PORT:-8000}"

    # Render prompts with the chat template embedded in the GGUF (Jinja). This
    # is what makes OpenAI-style `tools` work with Llama 3.x; the built-in
    # fallback templates know nothing of tools.
    --jinja

    # Context is split evenly between the slots: 16384 / 2 = 8192 tokens per
    # conversation in flight. KV cache costs ~128 KiB per token for 8B at f16,
    # so 16384 tokens is ~2 GiB of RAM on top of the weights.
    --ctx-size "$ctx"
    --parallel "$parallel"

    # Decode all busy slots in one batch instead of one request at a time.
    # (On by default in current builds; explicit so it survives a default change.)
    --cont-batching

    # Prefix caching, llama.cpp style. Each slot keeps the KV cache of its last
    # prompt, and a new request goes to the slot whose cached prompt it matches
    # best, so a conversation's next turn only prefills what is new: this is why
    # Kith puts persona, tools and older history first. --cache-reuse goes
    # further: chunks of at least this many tokens that match the cache after a
    # difference (say an edited line in the middle) are shifted into place
    # rather than recomputed.
    --cache-reuse 256

    # Prometheus metrics on /metrics (llama-server's /health exists regardless).
    --metrics
)

if [[ -n "${LLAMA_MMPROJ:-}" ]]; then
    # The multimodal projector: llama-server then accepts OpenAI `image_url` parts
    # (data URLs) in chat messages. Kith resizes photos to 1120 px before sending.
    args+=(--mmproj "$LLAMA_MMPROJ")
fi

if [[ -n "${LLAMA_THREADS:-}" ]]; then
    args+=(--threads "$LLAMA_THREADS")
fi

echo "llama-server: $model on http://127.0.0.1:${LLAMA_PORT:-8000}/v1 (ctx $ctx, $parallel slots)" >&2
exec "$server" "${args[@]}" "$@"
