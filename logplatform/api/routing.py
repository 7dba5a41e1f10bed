"""One URL, one APIView per operation.

The house style gives every operation its own APIView (its own serializers,
parsers, throttles and permissions); REST puts several operations on one URL
(GET and POST /analyses/). `operations()` joins the two: it sends each HTTP
method to its view, and `expand_operations`, a drf-spectacular preprocessing
hook, puts each view in the schema as its own operation.

Importing this module registers the `objid` path converter every API URL module uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import register_converter
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.views import APIView


class ObjectIdConverter:
    """A database id: 1 to 18 digits. Longer numbers match no URL (404), rather
    than reaching the database as an out-of-range integer."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


# Here, not in a URL module: both apps' URL modules use it, and Django warns when a
# converter is registered twice.
register_converter(ObjectIdConverter, "objid")


class _OtherMethods(APIView):
    """Answers any method the URL has no operation for: 405 with the right Allow header."""

    methods: tuple[str, ...] = ()

    @property
    def allowed_methods(self) -> list[str]:
        return [*self.methods, "OPTIONS"]

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        raise MethodNotAllowed(request.method)


def operations(**views: type[APIView]) -> Callable[..., HttpResponse]:
    """A URL view that routes `get=ListApi, post=CreateApi, ...` by HTTP method."""
    by_method = {method.upper(): view.as_view() for method, view in views.items()}
    if "GET" in by_method:
        by_method.setdefault("HEAD", by_method["GET"])
    name = "".join(view.__name__ for view in views.values())
    other = type(f"{name}Methods", (_OtherMethods,), {"methods": tuple(m.upper() for m in views)})
    fallback = other.as_view()

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return by_method.get(request.method or "", fallback)(request, *args, **kwargs)

    # What DRF's and drf-spectacular's URL inspection look for on a view.
    view.cls = other  # type: ignore[attr-defined]
    view.initkwargs = {}  # type: ignore[attr-defined]
    view.csrf_exempt = True  # type: ignore[attr-defined]  # DRF's session auth checks CSRF itself
    view.operations = by_method  # type: ignore[attr-defined]
    return view


def expand_operations(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """drf-spectacular hook: describe each method of an `operations()` URL by its own view."""
    expanded = []
    for path, path_regex, method, callback in endpoints:
        routed = getattr(callback, "operations", None)
        if routed is not None:
            callback = routed[method]
        expanded.append((path, path_regex, method, callback))
    return expanded
