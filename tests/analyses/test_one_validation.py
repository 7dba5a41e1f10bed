"""One validation per entity, shared by pages and API (issue 19).

Analysis options were checked three times (the upload form, the API's serializer,
engine_config) and alert rules twice (the rule form, the API), each in its own
words and not always by the same rules; the history page and the API list searched
with two selectors. Now one function each: the same input is refused in the same
words wherever it is given.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from analyses.models import AlertRule, Analysis, Status
from tests.analyses.alerting_helpers import form_data
from tests.analyses.helpers import make_analysis, upload

pytestmark = pytest.mark.django_db

CSV = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,boom\n"


# --------------------------------------------------------------------------- analysis options


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("format", "xml"),
        ("assume_year", "1900"),
        ("assume_year", "2101"),
        ("assume_year", "nineteen"),
    ],
)
def test_the_page_the_api_and_the_command_refuse_a_bad_option_in_the_same_words(
    client_for, api, bob, team_a, tmp_path, field, value
):
    page = client_for(bob).post(
        reverse("analyses:upload"),
        {"files": [upload("a.csv", CSV)], field: value},
        HTTP_ACCEPT="application/json",
    )
    assert page.status_code == 400, page.content
    refused = api(bob).post(
        "/api/v1/analyses/", {"files": [upload("a.csv", CSV)], field: value}, format="multipart"
    )
    assert refused.status_code == 400, refused.content
    words = refused.json()["error"]["details"][field]
    assert page.json()["error"]["messages"] == [f"{field}: {', '.join(words)}"]
    path = tmp_path / "a.csv"
    path.write_text(CSV)
    with pytest.raises(CommandError) as command:
        call_command("analyze", str(path), "--team", "team-a", f"--{field.replace('_', '-')}", value)
    assert words[0] in str(command.value)
    assert not Analysis.objects.exists()


def test_a_good_option_is_stored_alike_from_the_page_and_the_api(client_for, api, bob, team_a):
    data = {"format": "csv", "assume_year": "2019"}
    page = client_for(bob).post(
        reverse("analyses:upload"), {"files": [upload("a.csv", CSV)], **data}, HTTP_ACCEPT="application/json"
    )
    assert page.status_code == 202, page.content
    created = api(bob).post(
        "/api/v1/analyses/", {"files": [upload("a.csv", CSV)], **data}, format="multipart"
    )
    assert created.status_code == 202, created.content
    stored = [a.options for a in Analysis.objects.order_by("pk")]
    assert stored == [{"format": "csv", "assume_year": 2019}] * 2


# --------------------------------------------------------------------------- a re-run's options per file


def _page_rerun(client, analysis, **fields: str):
    f = analysis.files.get()
    data = {f"file-{f.pk}-{name}": value for name, value in fields.items()}
    return client.post(reverse("analyses:rerun", args=[analysis.pk]), data, follow=True)


@pytest.mark.parametrize(
    ("field", "page_value", "api_value"),
    [("format", "xml", "xml"), ("assume_year", "1900", 1900), ("assume_year", "2101", 2101)],
)
def test_the_rerun_form_and_the_api_refuse_a_bad_file_option_in_the_same_words(
    client_for, api, bob, team_a, tmp_path, field, page_value, api_value
):
    analysis = make_analysis(team_a, bob, tmp_path)
    file_id = analysis.files.get().pk
    page = _page_rerun(client_for(bob), analysis, **{field: page_value})
    assert page.redirect_chain[-1][0].endswith(f"/analyses/{analysis.pk}/#rerun-options")
    refused = api(bob).post(
        f"/api/v1/analyses/{analysis.pk}/rerun/",
        {"files": [{"id": file_id, field: api_value}]},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    (words,) = refused.json()["error"]["details"]["files"]
    assert words.startswith(f"files[0].{field}: ")
    assert [str(m) for m in page.context["messages"]] == [f"Nothing was re-run: {words}"]
    assert Analysis.objects.count() == 1


def test_good_file_options_are_stored_alike_from_the_rerun_form_and_the_api(
    client_for, api, bob, team_a, tmp_path
):
    analysis = make_analysis(team_a, bob, tmp_path)
    file_id = analysis.files.get().pk
    page = _page_rerun(client_for(bob), analysis, format="syslog", assume_year="2016")
    assert page.status_code == 200
    created = api(bob).post(
        f"/api/v1/analyses/{analysis.pk}/rerun/",
        {"files": [{"id": file_id, "format": "syslog", "assume_year": 2016}]},
        format="json",
    )
    assert created.status_code == 202, created.content
    clones = Analysis.objects.exclude(pk=analysis.pk).order_by("pk")
    stored = [(f.format_override, f.assume_year_override) for c in clones for f in c.files.all()]
    assert stored == [("syslog", 2016)] * 2


# --------------------------------------------------------------------------- alert rules

JSON = {"team": "team-a", "kind": "error_count", "threshold": 1}


@pytest.mark.parametrize(
    ("field", "page_value", "api_value"),
    [
        ("threshold", "-1", -1),
        ("threshold", "2e15", 2e15),
        ("severity", "apocalyptic", "apocalyptic"),
        ("kind", "error_burst", "error_burst"),
        ("min_rows", "-1", -1),
        ("emails", "ops@example.com, not-an-address", ["ops@example.com", "not-an-address"]),
        ("webhook_url", "ftp://hooks.example.com/", "ftp://hooks.example.com/"),
        ("webhook_url", "http://127.0.0.1:5432/", "http://127.0.0.1:5432/"),
    ],
)
def test_the_rule_form_and_the_api_refuse_a_bad_rule_in_the_same_words(
    client_for, api, alice, team_a, field, page_value, api_value
):
    before = AlertRule.objects.count()
    page = client_for(alice).post(reverse("analyses:rule_new"), form_data(**{field: page_value}))
    assert page.status_code == 200
    refused = api(alice).post("/api/v1/alert-rules/", {**JSON, field: api_value}, format="json")
    assert refused.status_code == 400, refused.content
    assert page.context["form"].errors[field] == refused.json()["error"]["details"][field]
    assert AlertRule.objects.count() == before


def test_an_error_rate_above_one_is_refused_by_the_form_and_by_a_partial_update(
    client_for, api, alice, team_a
):
    page = client_for(alice).post(reverse("analyses:rule_new"), form_data(kind="error_rate", threshold="5"))
    rule = AlertRule.objects.filter(team=team_a, kind="error_count").first()
    rule.threshold = 5
    rule.save()
    patched = api(alice).patch(f"/api/v1/alert-rules/{rule.pk}/", {"kind": "error_rate"}, format="json")
    assert patched.status_code == 400
    assert page.context["form"].errors["threshold"] == patched.json()["error"]["details"]["threshold"]
    rule.refresh_from_db()
    assert rule.kind == "error_count"


# --------------------------------------------------------------------------- search


def test_the_history_page_and_the_api_list_find_the_same_analyses(
    client_for, api, alice, charlie, team_a, team_b, tmp_path
):
    nginx = make_analysis(team_a, alice, tmp_path, name="nginx-errors.log")
    make_analysis(team_a, alice, tmp_path, name="app.csv")
    failed = make_analysis(team_a, alice, tmp_path, name="nginx-access.log")
    Analysis.objects.filter(pk=failed.pk).update(status=Status.FAILED)
    make_analysis(team_b, charlie, tmp_path, name="nginx-theirs.log")

    for query in ({"q": "NGINX"}, {"q": "nginx", "status": "failed"}, {"q": ".log"}, {}):
        html = client_for(alice).get(reverse("analyses:history"), query)
        page = [a.pk for a in html.context["page"].object_list]
        listed = api(alice).get("/api/v1/analyses/", {**query, "team": "team-a"}).json()
        assert page == [a["id"] for a in listed["results"]], query
    assert [a["id"] for a in api(alice).get("/api/v1/analyses/", {"q": "errors"}).json()["results"]] == [
        nginx.pk
    ]
