from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# The characters json_script escapes, so a JSON string can never close the tag.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def figure_script(figure_json: str, name: str) -> SafeString:
    """A Plotly figure (already JSON) in a non-executable script tag, id figure-<name>."""
    return format_html(
        '<script id="figure-{}" type="application/json">{}</script>',
        name,
        mark_safe(figure_json.translate(_JSON_ESCAPES)),  # noqa: S308 - escaped just above
    )


@register.filter
def percent(value: float | None, digits: int = 2) -> str:
    """0.1234 -> '12.34 %'."""
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def duration_label(seconds: int | None) -> str:
    """3600 -> '1 h', 300 -> '5 min', 86400 -> '1 day'."""
    if not seconds:
        return "–"
    for size, unit in ((604800, "week"), (86400, "day"), (3600, "h"), (60, "min")):
        if seconds % size == 0:
            n = seconds // size
            plural = "s" if n > 1 and unit in ("week", "day") else ""
            return f"{n} {unit}{plural}"
    return f"{seconds} s"


@register.filter
def filesize(value: int | None) -> str:
    if value is None:
        return "–"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
