"""The model on a laptop: find a local OpenAI-compatible server, or run llama.cpp in-process.

``detect`` probes the usual loopback ports (Ollama, LM Studio, vLLM, llama.cpp's server),
``catalog`` pins the models Kith can download, ``pull`` downloads one with huggingface_hub
(pinned revision, sha256 checked, resumable), and ``embedded`` serves a GGUF file through
llama-cpp-python behind the same ``ChatModel`` seam as the OpenAI-compatible client.
"""
