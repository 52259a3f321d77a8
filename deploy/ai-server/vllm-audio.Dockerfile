# vLLM's OpenAI server plus its optional `audio` extra (librosa, soundfile,
# mistral_common[audio]), which the published image leaves out for licensing reasons and
# which Qwen2-Audio and Voxtral need to decode audio. Built by docker-compose.audio.yml.
ARG VLLM_VERSION=0.11.0
FROM vllm/vllm-openai:v${VLLM_VERSION}
ARG VLLM_VERSION
# Same vLLM version as the base image, or pip would replace the engine itself.
RUN uv pip install --system "vllm[audio]==${VLLM_VERSION}"
