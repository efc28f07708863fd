r"""A surface's LaTeX formula as MathML, so it reads as a formula wherever HTML is shown.

JupyterLab typesets ``$...$`` in an ``HTMLMath`` widget, Voila and static HTML show it raw.
MathML is rendered by the browser itself (Chromium >= 109, Firefox, Safari), so the
panels put ``<math>`` in plain ``HTML`` widgets instead. :func:`to_mathml` understands
the LaTeX the surface catalogue uses: ``^`` and ``_`` with one character or a ``{group}``,
``\frac``/``\tfrac``, ``\sqrt``, ``\cos``/``\sin``/``\exp``/``\log``, Greek letters
(``\pi`` ...), the spaces ``\,`` ``\;`` ``\ `` ``\quad``, numbers, letters, operators and
brackets. The original LaTeX rides along as an annotation (copy-paste, screen readers).

Raises ``ValueError`` on LaTeX outside that subset (callers fall back to plain text).
"""

from __future__ import annotations

import html
import re

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\d+(?:\.\d+)?|\.\d+|[A-Za-z]|\S")
_FUNCTIONS = {"cos", "sin", "tan", "exp", "log", "ln"}
_GREEK = {
    "pi": "π", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε",
    "rho": "ρ", "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ",
}  # fmt: skip
_SPACES = {",": "0.17em", ";": "0.28em", " ": "0.25em", "quad": "1em", "qquad": "2em"}
_OPERATORS = {"-": "−", "*": "·", "cdot": "·", "times": "×", "le": "≤", "ge": "≥"}


class _Parser:
    def __init__(self, tex):
        self.tokens = _TOKEN.findall(tex)
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self):
        token = self.peek()
        if token is None:
            raise ValueError("unexpected end of formula")
        self.i += 1
        return token

    def sequence(self, closing=None):
        items = []
        while True:
            token = self.peek()
            if token is None:
                if closing is not None:
                    raise ValueError(f"missing {closing!r}")
                return items
            if token == closing:
                self.take()
                return items
            items.append(self.scripted())

    def scripted(self):
        base = self.atom()
        token = self.peek()
        if token in ("^", "_"):
            self.take()
            script = self.atom()
            tag = "msup" if token == "^" else "msub"
            return f"<{tag}>{base}{script}</{tag}>"
        return base

    def group(self):
        token = self.take()
        if token != "{":
            return self.atom_of(token)
        return "<mrow>" + "".join(self.sequence("}")) + "</mrow>"

    def atom(self):
        return self.atom_of(self.take())

    def atom_of(self, token):
        if token == "{":
            return "<mrow>" + "".join(self.sequence("}")) + "</mrow>"
        if token.startswith("\\"):
            name = token[1:]
            if name in ("frac", "tfrac", "dfrac"):
                num, den = self.group(), self.group()
                return f"<mfrac>{num}{den}</mfrac>"
            if name == "sqrt":
                return f"<msqrt>{self.group()}</msqrt>"
            if name in _FUNCTIONS:
                return f'<mi mathvariant="normal">{name}</mi><mspace width="0.17em"/>'
            if name in _GREEK:
                return f"<mi>{_GREEK[name]}</mi>"
            if name in _SPACES:
                return f'<mspace width="{_SPACES[name]}"/>'
            if name in _OPERATORS:
                return f"<mo>{_OPERATORS[name]}</mo>"
            raise ValueError(f"unsupported LaTeX command {token!r}")
        if token[0].isdigit() or token[0] == ".":
            return f"<mn>{token}</mn>"
        if token.isalpha():
            return f"<mi>{token}</mi>"
        if token in "([":
            return f'<mo stretchy="false">{token}</mo>'
        if token in ")]":
            return f'<mo stretchy="false">{token}</mo>'
        if token == "}":
            raise ValueError("unbalanced '}'")
        return f"<mo>{html.escape(_OPERATORS.get(token, token))}</mo>"


def to_mathml(tex):
    """``<math>`` markup (inline) for the LaTeX ``tex``.

    Raises:
        ValueError: LaTeX outside the supported subset (see the module doc).
    """
    body = "".join(_Parser(tex).sequence())
    return (
        '<math display="inline" style="font-size:1.15em"><semantics><mrow>'
        + body
        + '</mrow><annotation encoding="application/x-tex">'
        + html.escape(tex)
        + "</annotation></semantics></math>"
    )


def formula_html(tex):
    """The formula as MathML, or as escaped text when it is outside the supported subset."""
    if not tex:
        return ""
    try:
        return to_mathml(tex)
    except ValueError:
        return f"<code>{html.escape(tex)}</code>"
