"""The words of every prompt: SPEC-P1 … P12 verbatim, the system prompts a menu needs, and settings.

Each prompt is a template per language; ``{brand}`` and ``{hotline}`` are the two settings a
centre changes (SPEC-P: "the brand name and the hotline number are settings").  The set of
placeholders a template uses is what the build records as the prompt's dependencies, so a
change of brand regenerates exactly the prompts that say the brand.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


class Language(enum.StrEnum):
    """Languages the hotline speaks; the value is the folder name under ``prompts/audio``."""

    ZH = "zh"
    EN = "en"


class Setting(enum.StrEnum):
    """Settings a prompt's text can depend on; the value is the template placeholder."""

    BRAND = "brand"
    HOTLINE = "hotline"


class Source(enum.StrEnum):
    """Where a prompt's audio came from; ``recorded`` files are never overwritten by a build."""

    TTS = "tts"
    RECORDED = "recorded"
    GENERATED = "generated"  # synthesised signal, not speech (hold music)


@dataclass(frozen=True, slots=True)
class PromptSettings:
    """The centre-specific words of the prompts (defaults: the source documents' values)."""

    brand_zh: str = "中国电信"
    brand_en: str = "China Telecom"
    hotline_number: str = "1000"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9]{1,20}", self.hotline_number):
            raise ValueError(f"hotline_number must be 1-20 digits, got {self.hotline_number!r}")
        if not self.brand_zh.strip() or not self.brand_en.strip():
            raise ValueError("brand_zh and brand_en must not be empty")

    def values(self, language: Language) -> dict[str, str]:
        brand = self.brand_zh if language is Language.ZH else self.brand_en
        # Telephone numbers are read digit by digit in both languages, 1 as 幺 ("yao") in
        # Mandarin as operators say it: "幺零零零", "one zero zero zero".
        if language is Language.ZH:
            hotline = "".join(_DIGIT_WORDS_ZH[int(d)] for d in self.hotline_number)
        else:
            hotline = " ".join(self.hotline_number)
        return {Setting.BRAND.value: brand, Setting.HOTLINE.value: hotline}


@dataclass(frozen=True, slots=True)
class PromptText:
    """One prompt's template in every language, and what it is for."""

    prompt_id: str
    purpose: str
    zh: str
    en: str

    def template(self, language: Language) -> str:
        return self.zh if language is Language.ZH else self.en

    def depends_on(self, language: Language) -> tuple[Setting, ...]:
        used = set(re.findall(r"\{(\w+)\}", self.template(language)))
        return tuple(s for s in Setting if s.value in used)

    def render(self, language: Language, settings: PromptSettings) -> str:
        return self.template(language).format(**settings.values(language))


HOLD_MUSIC_ID = "hold_music"

# SPEC-P: the phrases of the source documents, verbatim in Mandarin, brand as a setting.
_SPEC_PHRASES: tuple[PromptText, ...] = (
    PromptText("p1", "SPEC-P1 answer", "您好!{brand}。", "Hello! {brand}."),
    PromptText(
        "p2",
        "SPEC-P2 caller silent or unclear",
        "您好,这里是{brand}客服中心,请讲。",
        "Hello, this is the {brand} service centre, please go ahead.",
    ),
    PromptText(
        "p3",
        "SPEC-P3 caller too quiet",
        "对不起,请您重复一遍好吗?",
        "Sorry, could you repeat that, please?",
    ),
    PromptText(
        "p4",
        "SPEC-P4 / Q1 late answer apology",
        "对不起,电话较忙,让您久等了。",
        "Sorry, the lines are busy; thank you for waiting.",
    ),
    PromptText(
        "p5",
        "SPEC-P5 suggestion or thanks",
        "谢谢您对{brand}的支持,欢迎您继续关注,再见。",
        "Thank you for supporting {brand}; goodbye.",
    ),
    PromptText(
        "p6",
        "SPEC-P6 outside scope",
        "对不起,您的问题超出服务范围,谢谢您的使用,再见!",
        "Sorry, your question is outside our service scope. Thank you; goodbye!",
    ),
    PromptText(
        "p7a",
        "SPEC-P7a complaint resolved",
        "谢谢您对{brand}的支持,欢迎您继续监督,再见!",
        "Thank you; you are welcome to keep holding us to account. Goodbye!",
    ),
    PromptText(
        "p7b",
        "SPEC-P7b complaint registered",
        "您的投诉已被受理,我们会尽快予以答复,再见!",
        "Your complaint has been registered; we will reply as soon as possible. Goodbye!",
    ),
    PromptText(
        "p8",
        "SPEC-P8 wrong number",
        "您好,这里是{brand}客服中心,您拨错了,请挂机后重拨好吗,再见。",
        "This is the {brand} service centre; you have dialled the wrong number, "
        "please hang up and redial. Goodbye.",
    ),
    PromptText(
        "p9",
        "SPEC-P9 transfer to a specialist",
        "对不起,该项业务由专业话务员为您服务,正在为您转接,请稍候!",
        "Sorry, a specialist agent handles this; transferring you now, please hold!",
    ),
    # SPEC-P10 / P11 carry the agent's number (工号): they are said as prefix + digits + suffix.
    PromptText(
        "p10_prefix", "SPEC-P10 inbound opening, before the number", "您好!", "Hello! Agent"
    ),
    PromptText(
        "p10_suffix",
        "SPEC-P10 inbound opening, after the number",
        "号很高兴为您服务!",
        "is glad to serve you!",
    ),
    PromptText(
        "p11_prefix",
        "SPEC-P11 outbound opening, before the number",
        "您好!我是{brand}客服中心",
        "Hello! This is the {brand} service centre, agent",
    ),
    PromptText(
        "p11_suffix",
        "SPEC-P11 outbound opening, after the number",
        "号客服代表!",
        "speaking!",
    ),
    PromptText(
        "p12",
        "SPEC-P12 before ending",
        "还有什么可以帮您?",
        "Is there anything else I can help you with?",
    ),
)

_SYSTEM_PROMPTS: tuple[PromptText, ...] = (
    PromptText(
        "language_choice",
        "language menu (played in both languages)",
        "中文服务请按1。",
        "For English, press 2.",
    ),
    PromptText(
        "menu_main",
        "main menu, SPEC-Q3: short, agent option easy to find",
        "话费查询请按1,故障报修请按2,投诉建议请按3,人工服务请按0。",
        "For billing, press 1. For faults, press 2. For complaints, press 3. "
        "To speak to an agent, press 0.",
    ),
    PromptText(
        "queue_position_prefix",
        "queue position, before the number",
        "您是第",
        "You are caller number",
    ),
    PromptText(
        "queue_position_suffix",
        "queue position, after the number",
        "位来电。",
        "in the queue.",
    ),
    PromptText(
        "wait_prefix",
        "expected wait, before the number",
        "预计等待时间约",
        "The expected wait is about",
    ),
    PromptText("wait_suffix", "expected wait, after the number", "分钟。", "minutes."),
    PromptText(
        "callback_offer",
        "offer a callback",
        "如需我们回电,请按1。",
        "To be called back, press 1.",
    ),
    PromptText(
        "invalid_input",
        "invalid key",
        "对不起,您的输入有误,请重新输入。",
        "Sorry, that is not a valid choice. Please try again.",
    ),
    PromptText(
        "no_input",
        "no key pressed",
        "对不起,没有收到您的按键,请重新选择。",
        "Sorry, we did not receive your choice. Please try again.",
    ),
    PromptText(
        "transfer_agent",
        "going to a human agent",
        "正在为您转接人工服务,请稍候。",
        "Transferring you to an agent, please hold.",
    ),
    PromptText(
        "survey_question",
        "SPEC-Q4 satisfaction survey",
        "请对本次服务进行评价,满意请按1,一般请按2,不满意请按3。",
        "Please rate our service. If you were satisfied, press 1. If it was acceptable, "
        "press 2. If you were not satisfied, press 3.",
    ),
    PromptText(
        "survey_thanks",
        "after the survey answer",
        "感谢您的评价,再见!",
        "Thank you for your feedback. Goodbye!",
    ),
    PromptText(
        "emergency",
        "SPEC-O1 surge / emergency message",
        "当前来电较多,我们正在全力处理,请您耐心等待,或稍后再拨{hotline}。",
        "We are receiving a very high number of calls. Please hold, or call {hotline} again later.",
    ),
    PromptText(
        "closed",
        "outside opening hours",
        "您好,{brand}客服中心现在不在服务时间,请在服务时间内拨打{hotline},再见。",
        "The {brand} service centre is closed now. Please call {hotline} during our "
        "opening hours. Goodbye.",
    ),
    PromptText(
        "hold_message",
        "while waiting in the queue",
        "坐席正忙,请您稍候,我们将尽快为您服务。",
        "All our agents are busy. Please hold; we will be with you shortly.",
    ),
    PromptText(HOLD_MUSIC_ID, "hold music (generated tone loop)", "(等待音乐)", "(hold music)"),
    PromptText("goodbye", "end of call", "感谢您的来电,再见!", "Thank you for calling. Goodbye!"),
)

# Digits as said in a telephone or agent number: 1 is "yao" in Mandarin, as operators say it.
_DIGIT_WORDS_ZH = "零幺二三四五六七八九"
_DIGIT_WORDS_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGITS: tuple[PromptText, ...] = tuple(
    PromptText(f"digit_{d}", f"digit {d} of a number", _DIGIT_WORDS_ZH[d], _DIGIT_WORDS_EN[d])
    for d in range(10)
)

# Counting words for "caller number 12", "about 25 minutes": below 20 one word, then tens + unit.
_COUNT_ZH = "零一二三四五六七八九"
_TEENS_EN = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS_EN = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _count_zh(n: int) -> str:
    if n < 10:
        return _COUNT_ZH[n]
    tens, unit = divmod(n, 10)
    head = "十" if tens == 1 else _COUNT_ZH[tens] + "十"
    return head + (_COUNT_ZH[unit] if unit else "")


def _count_en(n: int) -> str:
    if n < 10:
        return _DIGIT_WORDS_EN[n]
    if n < 20:
        return _TEENS_EN[n - 10]
    return _TENS_EN[n // 10]


COUNT_WORD_VALUES: tuple[int, ...] = (*range(20), *range(20, 100, 10))
_COUNTS: tuple[PromptText, ...] = (
    *(
        PromptText(f"number_{n}", f"the number {n}", _count_zh(n), _count_en(n))
        for n in COUNT_WORD_VALUES
    ),
    # Mandarin says 两 (liang), not 二, for a lone "two" before a measure word: 两分钟.
    PromptText("number_2_counted", "the number 2 before a measure word", "两", "two"),
)

ALL_PROMPTS: tuple[PromptText, ...] = (*_SPEC_PHRASES, *_SYSTEM_PROMPTS, *_DIGITS, *_COUNTS)
PROMPTS_BY_ID: Mapping[str, PromptText] = {p.prompt_id: p for p in ALL_PROMPTS}
if len(PROMPTS_BY_ID) != len(ALL_PROMPTS):
    raise RuntimeError("duplicate prompt id in prompts/texts.py")

MAX_SPOKEN_COUNT = 99


def count_word_ids(n: int, *, before_measure_word: bool = False) -> tuple[str, ...]:
    """Prompt ids that say the count ``n`` (0-99; larger numbers are said as 99).

    ``before_measure_word``: the number counts something ("2 minutes"), not a rank ("caller
    number 2"); Mandarin then says 两 for a lone 2.
    """
    n = max(0, min(n, MAX_SPOKEN_COUNT))
    if n == 2 and before_measure_word:
        return ("number_2_counted",)
    if n < 20 or n % 10 == 0:
        return (f"number_{n}",)
    return (f"number_{n - n % 10}", f"number_{n % 10}")


def digit_ids(number: str) -> tuple[str, ...]:
    """Prompt ids that say ``number`` digit by digit (agent numbers, SPEC-P10)."""
    if not number.isascii() or not number.isdigit():
        raise ValueError(f"an agent number is digits only, got {number!r}")
    return tuple(f"digit_{d}" for d in number)


def text_hash(text: str, voice: str) -> str:
    """What decides whether a TTS file is still current: the words and the voice that said them."""
    return hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()


def iter_prompts() -> Iterator[tuple[PromptText, Language]]:
    for prompt in ALL_PROMPTS:
        for language in Language:
            yield prompt, language
