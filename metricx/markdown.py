"""markdown: names and messages from platforms and people shown as themselves in markdown."""

from __future__ import annotations

import re

# What could turn a name into markup: emphasis, code, links and images ([...](...)), HTML and
# autolinks (<...>); a line break would start a block of its own. "$" (LaTeX) is left to the
# page, which escapes it in the whole text, money included (ui.format.in_markdown).
_MARKUP = str.maketrans({**{c: "\\" + c for c in "\\`*_~[]<>"}, "\n": " ", "\r": " ", "\t": " "})
# Bare URLs ("http://…", "www.…") become links in GitHub-flavoured markdown even escaped (the
# renderer finds them in the text once escapes are read): an invisible WORD JOINER (U+2060)
# inside "://" and after "www" keeps them text.
_JOINER = "\u2060"
_WWW = re.compile(r"(?i)\b(www)\.")


def markdown_literal(text: str) -> str:
    """`text` (an ad's or campaign's name: whatever the platform holds, or an error quoting
    one) as itself in markdown: nothing in it becomes a link, an image, emphasis or HTML."""
    escaped = str(text).translate(_MARKUP).replace("://", f":{_JOINER}//")
    return _WWW.sub(rf"\1{_JOINER}.", escaped)
