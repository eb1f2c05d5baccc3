"""HTML escaping for the hot paths of the pages."""

from __future__ import annotations

import html

from django.utils.safestring import SafeData, SafeString


def escaped(value: object) -> SafeString:
    """``conditional_escape`` without its check for lazy strings on every call (``keep_lazy``), which cost more
    than the escaping itself where a page escapes hundreds of values (a list's rows, a select's options): text
    already marked safe as it is, anything else as its ``str`` escaped.

    >>> escaped('a "b" <c> & d'), escaped(SafeString("<i>kept</i>")), escaped(3)
    ('a &quot;b&quot; &lt;c&gt; &amp; d', '<i>kept</i>', '3')
    """
    return SafeString(value) if isinstance(value, SafeData) else SafeString(html.escape(str(value)))
