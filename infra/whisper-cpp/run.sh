#!/usr/bin/env bash
# whisper.cpp's server as Kith's speech endpoint on a CPU box.
#
#   infra/whisper-cpp/run.sh ~/models/ggml-base.en.bin [extra whisper-server flags]
#
# Then:
#   export KITH_SPEECH__BASE_URL=http://127.0.0.1:8001/v1 KITH_SPEECH__MODEL=whisper-1
#   export KITH_SPEECH__CONVERT=wav
#   kith check
#
# whisper.cpp reads WAV (and MP3/FLAC), not the OGG/Opus that Telegram and WhatsApp send,
# unless it is started with --convert (which needs ffmpeg on this host). Kith converts
# with PyAV instead when KITH_SPEECH__CONVERT=wav (16 kHz mono PCM). The model name is
# not checked by whisper.cpp; any value works. Models are not downloaded here.
#
#   WHISPER_SERVER  whisper-server binary  (default: whisper-server on PATH)
#   WHISPER_PORT    listen port            (default: 8001)
#   WHISPER_THREADS threads                (default: 4)
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    echo "usage: $0 MODEL.bin [extra whisper-server flags...]" >&2
    exit 2
fi
model=$1
shift
[[ -f "$model" ]] || { echo "error: model file not found: $model" >&2; exit 1; }
server=${WHISPER_SERVER:-whisper-server}
command -v "$server" >/dev/null 2>&1 || {
    echo "error: '$server' not found; build whisper.cpp (cmake --build build -t whisper-server)" >&2
    exit 1
}
exec "$server" --model "$model" --host 127.0.0.1 --port "${WHISPER_PORT:-8001}" \
    --threads "${WHISPER_THREADS:-4}" \
    --inference-path /v1/audio/transcriptions "$@"
