from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from logplatform.api.errors import ApiNotFound

# /api/v1/: each app brings its own endpoints; together they are the `api` namespace
# (api:tokens, api:analyses, ...). Apps are named by string only: logplatform sits
# below them and imports none.
api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("analyses.api.urls")),
]

urlpatterns = [
    path(
        "",
        RedirectView.as_view(
            pattern_name="analyses:upload", permanent=False, http_method_names=["get", "head"]
        ),
        name="home",
    ),
    path("accounts/", include("accounts.urls")),
    path("analyses/", include("analyses.urls")),
    path("admin/", admin.site.urls),
    # The REST API, its OpenAPI schema and its docs (assets served locally).
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", ApiNotFound.as_view()),
]
