"""Chat templates: functions `render(messages, add_generation_prompt) -> str`, and the split of a rendering into
prompt and assistant segments.

Named templates: `opengptx` (the study's FastChat template, exactly), `plain` (the same headers, but the system
line only when a system message is set and a generation prompt ending in a space), `chatml`, `llama3` (Llama 3's
header/`<|eot_id|>` format, for base models whose tokenizer has those special tokens but no chat template), and
`tokenizer` (the tokenizer's own Jinja template). The split is found by incremental rendering: for every assistant message i,
`render(messages[:i], add_generation_prompt=True)` is the prompt and `render(messages[:i + 1])` minus that prompt
is what the model must learn to write. This needs no generation markers in the template, so it works for any
template whose renderings of a conversation's prefixes are prefixes of each other, which is checked. Tokenisation
happens once, on the whole rendering (see conversation.py).
"""

from __future__ import annotations

from typing import Callable

from .errors import TrainerError

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}
Render = Callable[[list[Message], bool], str]

# The study's format for base models without a chat template; "</s>" stands for the tokenizer's eos token.
PLAIN_HEADERS = {"system": "System: ", "user": "User: ", "assistant": "Assistant: "}

# FastChat's `opengptx` system messages (github.com/Modalities/MT-Bench-X, src/mtbenchx/fastchat/conversation.py,
# Apache-2.0, commit f8972dc7), verbatim, including the missing space after "assistant." in EN.
OPENGPTX_DEFAULT_SYSTEM_MESSAGE = "A chat between a human and an artificial intelligence assistant. The assistant gives helpful and polite answers to the human's questions."
OPENGPTX_SYSTEM_MESSAGES = {
    "BG": "Чат между човек и асистент с изкуствен интелект. Асистентът дава полезни и учтиви отговори на въпросите на човека.",
    "CS": "Chat mezi člověkem a asistentem s umělou inteligencí. Asistent poskytuje vstřícné a zdvořilé odpovědi na otázky člověka.",
    "DA": "En chat mellem et menneske og en assistent med kunstig intelligens, som giver hjælpsomme og høflige svar på menneskets spørgsmål.",
    "DE": "Ein Gespräch zwischen einem Menschen und einem Assistenten mit künstlicher Intelligenz. Der Assistent gibt hilfreiche und höfliche Antworten auf die Fragen des Menschen.",
    "EL": "Μια συνομιλία μεταξύ ενός ανθρώπου και ενός βοηθού τεχνητής νοημοσύνης. Ο βοηθός δίνει χρήσιμες και ευγενικές απαντήσεις στις ερωτήσεις του ανθρώπου.",
    "EN": "A chat between a human and an artificial intelligence assistant.The assistant gives helpful and polite answers to the human's questions.",
    "ES": "Una conversación entre un humano y un asistente de inteligencia artificial. El asistente da respuestas útiles y amables a las preguntas del humano.",
    "ET": "Inimese ja tehisintellekti assistendi vaheline vestlus. Assistent annab inimese küsimustele abivalmis ja viisakaid vastuseid.",
    "FI": "Ihmisen ja tekoälyavustajan välinen keskustelu. Avustaja antaa avuliaita ja kohteliaita vastauksia ihmisen kysymyksiin.",
    "FR": "Conversation entre un humain et un assistant doté d'une intelligence artificielle. L'assistant donne des réponses utiles et polies aux questions de l'homme.",
    "GA": "Comhrá idir duine agus cúntóir hintleachta saorga. Tugann an cúntóir freagraí cabhracha dea-bhéasacha ar cheisteanna an duine.",
    "HR": "Razgovor između čovjeka i pomoćnika umjetne inteligencije. Pomoćnik daje korisne i ljubazne odgovore na ljudska pitanja.",
    "HU": "Egy ember és egy mesterséges intelligencia asszisztens közötti beszélgetés. Az asszisztens segítőkész és udvarias válaszokat ad az ember kérdéseire.",
    "IT": "Una chat tra un umano e un assistente di intelligenza artificiale. L'assistente fornisce risposte utili ed educate alle domande dell'uomo.",
    "LT": "Žmogaus ir dirbtinio intelekto asistento pokalbis. Asistentas naudingai ir mandagiai atsako į žmogaus klausimus.",
    "LV": "Cilvēka un mākslīgā intelekta asistenta tērzēšana. Asistents sniedz noderīgas un pieklājīgas atbildes uz cilvēka jautājumiem.",
    "MT": "Chat bejn bniedem u assistent ta' intelliġenza artifiċjali. L-assistent jagħti tweġibiet ta' għajnuna u edukat għall-mistoqsijiet tal-bniedem.",
    "NL": "Een chat tussen een mens en een assistent met kunstmatige intelligentie. De assistent geeft behulpzame en beleefde antwoorden op de vragen van de mens.",
    "PL": "Czat między człowiekiem a asystentem sztucznej inteligencji. Asystent udziela pomocnych i uprzejmych odpowiedzi na pytania człowieka.",
    "PT": "Uma conversa entre um ser humano e um assistente de inteligência artificial. O assistente dá respostas úteis e educadas às perguntas do utilizador.",
    "RO": "O conversație între un om și un asistent cu inteligență artificială. Asistentul oferă răspunsuri utile și politicoase la întrebările omului.",
    "SK": "Rozhovor medzi človekom a asistentom s umelou inteligenciou. Asistent poskytuje užitočné a zdvorilé odpovede na otázky človeka.",
    "SL": "Pogovor med človekom in pomočnikom z umetno inteligenco. Pomočnik človeku prijazno in vljudno odgovarja na njegova vprašanja.",
    "SV": "En chatt mellan en människa och en assistent med artificiell intelligens. Assistenten ger hjälpsamma och artiga svar på människans frågor.",
}


CHATML_JINJA = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def render_plain(messages: list[Message], add_generation_prompt: bool, eos_token: str) -> str:
    """`System: ...\\nUser: ...\\nAssistant: ...</s>\\nUser: ...` (the named template "plain")."""
    pieces = []
    for message in messages:
        text = PLAIN_HEADERS[message["role"]] + message["content"]
        if message["role"] == "assistant":
            text += eos_token
        pieces.append(text)
    if add_generation_prompt:
        pieces.append(PLAIN_HEADERS["assistant"])
    return "\n".join(pieces)


def render_opengptx(messages: list[Message], add_generation_prompt: bool, eos_token: str) -> str:
    """FastChat's opengptx (COLON_SURROUND): `System: ...` always, `\\nUser: ...`, `\\nAssistant: ...</s>`, and the
    generation prompt `\\nAssistant:` without a trailing space. The system message comes from the conversation
    (conversation.py puts the language's one there)."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else OPENGPTX_DEFAULT_SYSTEM_MESSAGE
    text = "System: " + system
    for message in messages:
        if message["role"] == "user":
            text += "\nUser: " + message["content"]
        elif message["role"] == "assistant":
            text += "\nAssistant: " + message["content"] + eos_token
    return text + ("\nAssistant:" if add_generation_prompt else "")


def opengptx_system_message(lang: str | None) -> str:
    """The opengptx system message of a language (81_DE -> DE), FastChat's English default for others."""
    return OPENGPTX_SYSTEM_MESSAGES.get((lang or "").upper(), OPENGPTX_DEFAULT_SYSTEM_MESSAGE)


def render_chatml(messages: list[Message], add_generation_prompt: bool) -> str:
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


LLAMA3_SPECIAL_TOKENS = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")


def render_llama3(messages: list[Message], add_generation_prompt: bool) -> str:
    """Llama 3 Instruct's format without its BOS (template_prefix adds the id, as for the other named templates)."""
    text = "".join(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>" for m in messages)
    return text + ("<|start_header_id|>assistant<|end_header_id|>\n\n" if add_generation_prompt else "")


def resolve_template_name(name: str, tokenizer) -> str:
    """"auto" becomes "tokenizer" when the tokenizer ships a chat template, else "plain"."""
    if name == "auto":
        return "tokenizer" if getattr(tokenizer, "chat_template", None) else "plain"
    if name == "tokenizer" and not getattr(tokenizer, "chat_template", None):
        raise TrainerError(
            "chat_template: 'tokenizer' was asked for but the tokenizer has no chat template; "
            "use --chat-template opengptx (the study's System:/User:/Assistant: ...</s>), plain or chatml"
        )
    return name


def make_renderer(name: str, tokenizer) -> Render:
    """The render function for a resolved template name ("tokenizer", "opengptx", "plain" or "chatml")."""
    if name in ("plain", "opengptx"):
        if tokenizer.eos_token is None:
            raise TrainerError(f"chat_template {name} needs a tokenizer with an eos token (it ends every assistant turn)")
        eos = tokenizer.eos_token
        renderer = render_plain if name == "plain" else render_opengptx
        return lambda messages, add_generation_prompt: renderer(messages, add_generation_prompt, eos)
    if name == "chatml":
        return render_chatml
    if name == "llama3":
        vocabulary = tokenizer.get_vocab()
        missing = [token for token in LLAMA3_SPECIAL_TOKENS if token not in vocabulary]
        if missing:
            raise TrainerError(f"chat_template llama3 needs the tokenizer's special tokens {', '.join(missing)}; "
                               "use a Llama 3 tokenizer, or --chat-template opengptx, plain or chatml")
        return render_llama3
    if name == "tokenizer":
        def render_with_tokenizer(messages: list[Message], add_generation_prompt: bool) -> str:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

        return render_with_tokenizer
    raise TrainerError(f"unknown chat template {name!r}")


def template_prefix(name: str, tokenizer) -> list[int]:
    """Token ids put before the rendered text: the named templates start with BOS when the model has one (as
    FastChat's prompt, tokenised with the tokenizer's special tokens); a tokenizer template writes its own BOS."""
    if name in ("plain", "opengptx", "chatml", "llama3") and tokenizer.bos_token_id is not None:
        return [tokenizer.bos_token_id]
    return []


def split_segments(messages: list[Message], render: Render, generation_prompt: bool = False) -> list[tuple[str, bool]]:
    """Split the rendered conversation into (text, is_assistant) segments whose concatenation is the full render.

    With `generation_prompt`, the last segment is the prompt for the next assistant turn, cut exactly as training
    cuts the prompt before an assistant turn (so generation reads the tokens training showed the model).
    """
    segments: list[tuple[str, bool]] = []
    done = ""
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = render(messages[:index], True)
        full = render(messages[: index + 1], False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise TrainerError(
                "the chat template renders a conversation's prefixes inconsistently (a later turn rewrites earlier "
                "text), so assistant tokens cannot be located; use --chat-template opengptx, plain, chatml or llama3"
            )
        segments.append((prompt[len(done):], False))
        segments.append((full[len(prompt):], True))
        done = full
    final = render(messages, generation_prompt)
    if not final.startswith(done):
        raise TrainerError("the chat template's full rendering does not extend its rendering of the prefixes")
    if final[len(done):]:
        segments.append((final[len(done):], False))
    return [(text, is_assistant) for text, is_assistant in segments if text]
