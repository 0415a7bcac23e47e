"""Asking for a person, in the caller's own words: "get me a human", "can I speak to someone".

A flow's `operator` command lists a few phrases (agent, operator, representative); callers
ask for a person in many more ways, and a menu that routes free speech by example would
otherwise re-prompt them (none of the choices is about a person) or, worse, guess a choice.
So the operator command, wherever it is heard by speech in the call's language, also hears
these built-in requests (English and Spanish; a Spanish call hears both, as for yes/no).

The whole utterance must be the request, give or take fillers, politeness and a tail such
as "on the line" or "I can talk to": "I need someone to fix my line" and "talk to someone
about my bill" are not requests for a person alone (the menu routes them by meaning), and
"someone"/"alguien" count only after a verb of talking or connecting ("speak to someone").
Pure functions over text; patterns are over `closedset.normalize`d words (lower case, no
punctuation, apostrophes dropped: "I'd" is "id").
"""

from __future__ import annotations

import re

from callwright.ivr.languages import is_spanish
from callwright.speech import closedset

_EN_FILLERS = (
    r"(?:um+|uh+|er+|erm|ah+|hmm+|oh|so|yeah|yes|yep|hi|hello|hey|okay|ok|well|like|look|listen"
    r"|just|please|sorry|excuse me|actually|honestly|ugh|man|ma am|sir|again)"
)
_EN_PEOPLE = (
    r"(?:human(?: being)?|person|agent|representative|rep|operator|supervisor|manager|attendant"
    r"|receptionist|associate|advisor|adviser|staff member|employee|team member)"
)
_EN_ANYONE = r"(?:someone|somebody|anyone|anybody)"
_EN_DET = r"(?:(?:a|an|the|some|your|one of your|a real|an actual) )?"
_EN_KIND = r"(?:(?:real|live|actual|human|customer service|customer care|customer support|service) )*"
_EN_PERSON = (
    rf"(?:{_EN_DET}{_EN_KIND}{_EN_PEOPLE}s?|{_EN_ANYONE} (?:real|live|human)|real people|a real one"
    rf"|{_EN_DET}(?:real|live|actual) {_EN_ANYONE})"
)
_EN_SOMEONE = rf"(?:{_EN_PERSON}|{_EN_ANYONE}|a human|people)"
_EN_TALK = (
    r"(?:(?:talk|speak|chat)(?:ing)? (?:to|with)|(?:connect|transfer|put|send|pass)(?:ing)? me"
    r"(?: through| over| back)?(?: to| with)|(?:reach|call|contact)(?:ing)?)"
)
_EN_WANT = (
    r"(?:(?:i|we) (?:want|need|would like|wanna|gotta|have to|must|would rather|prefer)(?: to)?"
    r"|id (?:like|rather|prefer)(?: to)?"
    r"|(?:can|could|may|do|would) (?:i|we|you)(?: please)?(?: just)?(?: (?:have|get|let me))?"
    r"|let me|i (?:would|d) like to|is there|is there any way (?:i|to) (?:can )?|how (?:do|can) i"
    r"|(?:get|give|find|bring) me|(?:i )?(?:want|need)|put on|gimme)"
)
_EN_TAIL = (
    r"(?:please|now|right now|asap|immediately|thanks|thank you|instead|already|for once|real quick"
    r"|on the (?:line|phone)|(?:i|we) can (?:talk|speak|chat) (?:to|with)|to (?:talk|speak|chat) (?:to|with)"
    r"|(?:who|that) can help(?: me)?|here|there|today)"
)
_EN = re.compile(
    rf"^(?:{_EN_FILLERS} )*(?:{_EN_WANT} )*(?:(?:{_EN_TALK}) {_EN_SOMEONE}|{_EN_PERSON})"
    rf"(?: {_EN_TAIL})*(?: {_EN_FILLERS})*$"
)

_ES_FILLERS = r"(?:eh|em|este|pues|bueno|hola|oiga|mire|sí|si|por favor|disculpe|perdón|perdon|ya)"
_ES_PEOPLE = (
    r"(?:humano|persona|agente|representante|operador|operadora|asesor|asesora|supervisor"
    r"|supervisora|encargado|encargada|alguien de (?:servicio|atención) al cliente)"
)
_ES_PERSON = (
    rf"(?:(?:un|una|el|la|algún|algun|alguna) )?(?:{_ES_PEOPLE})(?: (?:real|de verdad|humano|humana))?"
)
_ES_SOMEONE = rf"(?:{_ES_PERSON}|alguien(?: real| de verdad)?)"
_ES_TALK = (
    r"(?:hablar con|hable con|comunicar(?:me)? con|comuníqueme con|comuniqueme con|páseme con|paseme con"
    r"|pásame con|pasame con|ponme con|póngame con|pongame con|transfiérame (?:a|con)|transfierame (?:a|con)"
    r"|transferirme (?:a|con)|conécteme con|conecteme con)"
)
_ES_WANT = (
    r"(?:quiero|quisiera|necesito|me gustaría|me gustaria|puedo|podría|podria|deseo|por favor"
    r"|me (?:puede|podría|podria)|se puede)"
)
_ES = re.compile(
    rf"^(?:{_ES_FILLERS} )*(?:{_ES_WANT} )*(?:{_ES_TALK} {_ES_SOMEONE}|{_ES_PERSON})"
    rf"(?: (?:por favor|ahora|ya|gracias))*(?: {_ES_FILLERS})*$"
)


def asks_for_person(text: str, language: str | None = "en") -> bool:
    """Is the whole utterance a request to speak to a person (in the call's language)?"""
    joined = " ".join(closedset.normalize(text))
    if not joined:
        return False
    if is_spanish(language) and _ES.match(joined):
        return True
    return bool(_EN.match(joined))
