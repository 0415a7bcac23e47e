"""Help texts shared by several commands' options (one wording per concept)."""

TTS_HELP = (
    "Speech synthesiser for prompts: espeak (local espeak-ng, the default) or wyoming://HOST:PORT "
    "(a Wyoming TTS server such as Piper or `callwright speech-server`); prompts are cached either way."
)
ENGINE_HELP = (
    "Speech recogniser: auto, whisper, vosk, wyoming://HOST:PORT (a Wyoming server; several as "
    "wyoming://A:P+B:P), or a fallback pair such as whisper,vosk."
)
MODEL_HELP = (
    "Speech model: a name (tiny.en, base, vosk-small-en-us, vosk-ko; `callwright models list`) "
    "or a faster-whisper or Vosk model directory. Picks the engine when --engine is auto."
)
LANGUAGE_HELP = (
    "Language the speech is in (en, es, de, fr...; es-MX): a multilingual model (base) decodes it. "
    "Default: the call's own (metadata), else the model's: tiny.en hears English, base detects it."
)
