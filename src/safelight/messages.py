"""Sentences that the web pages can say in the reader's language: :class:`Message`.

A stage that words a sentence for a person to read (a match's reasons, a refusal) returns it
as a :class:`Message`. It *is* the English sentence — a ``str``, so the command line, logs, JSON
and comparisons see no difference — and it keeps its English template (a translation
catalogue's key, with ``{name}`` fields) and what fills the fields, so the web can say it in
another language (:func:`safelight.web.i18n.translator` takes a :class:`Message` as it takes a
key). Numbers, codes and names are ``values``, filled in as they are (a value that is itself a
:class:`Message` is said in the same language); ``terms`` are words of a
vocabulary (need labels, "Gender", …) that are translated too, then shown in lower case and
joined by ", ". A template and its terms are the catalogue's keys, so a template is a literal
string in the code that makes the message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping


def _english(template: str, /, **values: object) -> str:
    return template.format(**values) if values else template


class Message(str):
    """The English sentence ``template`` filled with ``terms`` and ``values``; :meth:`say` says
    it in another language."""

    template: str
    values: dict[str, object]
    terms: dict[str, tuple[str, ...]]

    def __new__(cls, template: str, /, *, terms: Mapping[str, Iterable[str]] | None = None,
                **values: object) -> Message:
        words = {k: tuple(v) for k, v in (terms or {}).items()}
        self = super().__new__(cls, _say(template, values, words, _english))
        self.template, self.values, self.terms = template, dict(values), words
        return self

    def reworded(self, change: Callable[[str], str]) -> Message:
        """This message with its template changed by ``change`` (the same values and terms)."""
        return type(self)(change(self.template), terms=self.terms, **self.values)

    def say(self, translate: Callable[..., str]) -> str:
        """The sentence in the language of ``translate`` — ``_(key, **values)``, which looks a
        key up in its catalogue (English when it is missing) and fills its ``{name}`` fields."""
        return _say(self.template, self.values, self.terms, translate)


def message_of(exc: BaseException) -> str:
    """What ``exc`` says: the :class:`Message` it was raised with, else ``str(exc)``."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Message) else str(exc)


def _say(template: str, values: Mapping[str, object], terms: Mapping[str, tuple[str, ...]],
         translate: Callable[..., str]) -> str:
    words = {k: ", ".join(translate(t).lower() for t in v) for k, v in terms.items()}
    said = {k: v.say(translate) if isinstance(v, Message) else v for k, v in values.items()}
    return translate(template, **said, **words)
