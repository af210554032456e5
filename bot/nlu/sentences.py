"""Split a parent's message into the pieces the model understands best.

The model learns from messages of one or two sentences. A long message (a greeting, a
backstory, the child's age, then the question) dilutes its features, and a "Hello!" or
"Thank you" line can outweigh the question. So the message is also read piece by piece: each
sentence, and a short salutation before the first comma ("Bonjour madame, ...") on its own.
"""

from __future__ import annotations

import re

MAX_PIECES = 6  # a 2,000-character message must not become forty model calls
# A sentence ends at . ! ? ؟ … followed by a space (so "8.30" and "39,5" stay whole), or at a
# line break.
_BOUNDARY = re.compile(r"(?<=[.!?؟…])\s+|\s*\n+\s*")
# "Hallo mevrouw Samira, ik ben ..." -> "Hallo mevrouw Samira" | "ik ben ..."
_SALUTATION = re.compile(r"^([^,،!:;.?؟]{1,40})[,،!:;]\s+(?=\w)")
_MAX_SALUTATION_WORDS = 4


def split(text: str) -> list[str]:
    """The sentences of ``text``, a leading salutation split off; at most MAX_PIECES.

    The salutation is only split off a message of several sentences: in one sentence the
    model reads "Bonjour madame, je cherche une crèche" well as it is.
    """
    sentences = [s.strip() for s in _BOUNDARY.split(text.strip()) if re.search(r"\w", s)]
    if len(sentences) < 2:
        return sentences  # one sentence is read as a whole: "hallo, ik zoek hulp" is a greeting
    pieces: list[str] = []
    for sentence in sentences:
        if not pieces:
            head = _SALUTATION.match(sentence)
            if head and len(head.group(1).split()) <= _MAX_SALUTATION_WORDS:
                pieces.append(head.group(1).strip())
                sentence = sentence[head.end() :].strip()
        if sentence:
            pieces.append(sentence)
    if len(pieces) > MAX_PIECES:  # keep the start and the question at the end
        pieces = [*pieces[: MAX_PIECES - 1], " ".join(pieces[MAX_PIECES - 1 :])]
    return pieces
