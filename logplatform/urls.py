from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from analyses.api.errors import ApiNotFound

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
    # The REST API (analyses/api/), its OpenAPI schema and its docs (assets served locally).
    path("api/v1/", include("analyses.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", ApiNotFound.as_view()),
]
