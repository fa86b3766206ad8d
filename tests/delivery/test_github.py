"""The GitHub client and commands against a local fake of the REST API that records requests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fake_github import FakeGitHub, serve

TOKEN = "ghp_TESTtoken1234567890secret"
REPO = "acme/rally"
ENVS = "/repos/acme/rally/environments"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """A fake GitHub with a repository, two users and a team; waits are recorded, not slept."""
    from rally_gitops.delivery import github

    state = FakeGitHub(token=TOKEN, repos={REPO}, users={"alice": 11, "bob": 12})
    state.teams = {"acme/dba": 77}
    waits: list[float] = []
    monkeypatch.setattr(github, "sleep", waits.append)
    with serve(state) as running:
        running.waits = waits
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", running.url)
        yield running


def test_setup_creates_environments_then_rerun_changes_nothing(cli, fake: FakeGitHub) -> None:
    result = cli("github", "setup", "--repo", REPO, "--reviewers", "alice,team:acme/dba")
    assert result.code == 0, result.text
    assert fake.calls() == [
        ("GET", "/repos/acme/rally"),
        ("GET", "/users/alice"),
        ("GET", "/orgs/acme/teams/dba"),
        ("GET", f"{ENVS}/staging"),
        ("PUT", f"{ENVS}/staging"),
        ("POST", f"{ENVS}/staging/deployment-branch-policies"),
        ("GET", f"{ENVS}/production"),
        ("PUT", f"{ENVS}/production"),
        ("POST", f"{ENVS}/production/deployment-branch-policies"),
    ]
    bodies = {(r.method, r.path): r.body for r in fake.requests}
    policy = {"protected_branches": False, "custom_branch_policies": True}
    assert bodies[("PUT", f"{ENVS}/staging")] == {"deployment_branch_policy": policy}
    assert bodies[("PUT", f"{ENVS}/production")] == {
        "wait_timer": 0,
        "prevent_self_review": True,
        "reviewers": [{"type": "User", "id": 11}, {"type": "Team", "id": 77}],
        "deployment_branch_policy": policy,
    }
    assert bodies[("POST", f"{ENVS}/staging/deployment-branch-policies")] == {
        "name": "staging",
        "type": "branch",
    }
    assert bodies[("POST", f"{ENVS}/production/deployment-branch-policies")] == {
        "name": "main",
        "type": "branch",
    }
    for request in fake.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
    assert "production: environment created" in result.out
    assert TOKEN not in result.text

    fake.requests.clear()
    again = cli("github", "setup", "--repo", REPO, "--reviewers", "alice,team:acme/dba")
    assert again.code == 0, again.text
    assert fake.calls("POST") == []  # no duplicate branch policies
    assert ("GET", f"{ENVS}/production/deployment-branch-policies") in fake.calls()
    assert "production: environment updated" in again.out
    assert "policy already present" in again.out
    assert [p["name"] for p in fake.policies["production"]] == ["main"]


def test_setup_dry_run_reads_but_writes_nothing(cli, fake: FakeGitHub) -> None:
    result = cli("github", "setup", "--repo", REPO, "--reviewers", "bob", "--dry-run")
    assert result.code == 0, result.text
    assert fake.calls("PUT", "POST", "PATCH") == []
    assert "production: would create the environment" in result.out
    assert '"reviewers": [{"id": 12, "type": "User"}]' in result.out
    assert "production: would need approval by bob;" in result.out


def test_unknown_reviewer_is_a_usage_error(cli, fake: FakeGitHub) -> None:
    result = cli("github", "setup", "--repo", REPO, "--reviewers", "alice,team:acme/nobody")
    assert result.code == 2
    assert (
        result.err
        == "error: reviewer team acme/nobody not found on GitHub (or the token cannot see it)\n"
    )
    assert fake.calls("PUT", "POST") == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"message": "Bad credentials"}, "GitHub rejected the token (401 (Bad credentials))"),
        (403, {"message": "Must have admin rights to Repository."}, "needs admin rights"),
        (404, {"message": "Not Found"}, "or the token has no access to it"),
    ],
)
def test_http_errors_are_one_line_without_the_token(cli, fake, status, body, expected) -> None:
    fake.script("PUT", f"{ENVS}/staging", status, body=body)
    result = cli("github", "setup", "--repo", REPO, "--reviewers", "alice")
    assert result.code == 1
    assert result.err.count("\n") == 1 and result.err.startswith("error: ")
    assert expected in result.err
    assert TOKEN not in result.text
    assert fake.calls("POST") == []  # stopped at the failure


def test_bad_token_and_missing_token(cli, fake: FakeGitHub) -> None:
    result = cli(
        "deployments", "--env", "staging", "--repo", REPO, env={"GITHUB_TOKEN": "nope-wrong"}
    )
    assert (result.code, result.err.startswith("error: GitHub rejected the token (401")) == (
        1,
        True,
    )
    assert "nope-wrong" not in result.text
    import os

    del os.environ["GITHUB_TOKEN"]
    missing = cli("deployments", "--env", "staging", "--repo", REPO)
    assert missing.code == 2 and "GITHUB_TOKEN is not set" in missing.err


def test_retries_5xx_and_secondary_rate_limits_then_succeeds(cli, fake: FakeGitHub) -> None:
    fake.script("GET", "/users/alice", 502)
    fake.script(
        "GET", "/users/alice", 403, {"Retry-After": "7"}, {"message": "secondary rate limit"}
    )
    fake.script(
        "GET", "/users/alice", 429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}
    )
    result = cli("github", "setup", "--repo", REPO, "--reviewers", "alice", "--dry-run")
    assert result.code == 0, result.text
    assert fake.calls()[1:5] == [("GET", "/users/alice")] * 4
    assert fake.waits == [1.0, 7.0, 1.0]


def test_retries_are_bounded_and_a_long_rate_limit_is_not_waited_for(cli, fake) -> None:
    for _ in range(6):
        fake.script("GET", "/users/alice", 503)
    result = cli("github", "setup", "--repo", REPO, "--reviewers", "alice")
    assert result.code == 1
    assert "GitHub answered 503 for GET /users/alice" in result.err
    assert fake.calls()[1:] == [("GET", "/users/alice")] * 5
    assert fake.waits == [1.0, 2.0, 4.0, 8.0]

    fake.requests.clear()
    fake.scripted.clear()
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4102444800"}  # year 2100
    fake.script("GET", "/users/alice", 403, reset, {"message": "API rate limit exceeded"})
    limited = cli("github", "setup", "--repo", REPO, "--reviewers", "alice")
    assert limited.code == 1
    assert "rate limit exceeded for GET /users/alice (resets at 00:00 UTC)" in limited.err
    assert fake.calls()[1:] == [("GET", "/users/alice")]


def test_comment_is_created_then_updated_across_pages(cli, fake, project: Path) -> None:
    fake.comments[7] = [{"id": i, "body": f"other {i}"} for i in range(1, 151)]
    report = project / "report.md"
    report.write_text("## Lint\nall good\n", encoding="utf-8")
    first = cli("github", "comment", "--repo", REPO, "--pr", "7", "--file", str(report))
    assert first.code == 0, first.text
    assert fake.calls("GET") == [("GET", "/repos/acme/rally/issues/7/comments")] * 2
    assert [r.query.get("page") for r in fake.requests if r.method == "GET"] == [None, "2"]
    posted = fake.requests[-1]
    assert (posted.method, posted.path) == ("POST", "/repos/acme/rally/issues/7/comments")
    assert posted.body == {"body": "<!-- rally-gitops:report -->\n## Lint\nall good\n"}
    new_id = fake.comments[7][-1]["id"]

    fake.requests.clear()
    report.write_text("## Lint\n1 finding\n", encoding="utf-8")
    second = cli("github", "comment", "--repo", REPO, "--pr", "7", "--file", str(report))
    assert second.code == 0, second.text
    assert fake.calls("POST", "PATCH") == [("PATCH", f"/repos/acme/rally/issues/comments/{new_id}")]
    assert len(fake.comments[7]) == 151
    assert fake.comments[7][-1]["body"].endswith("1 finding\n")
    assert f"updated comment {new_id} on #7" in second.out


def test_pagination_never_sends_the_token_elsewhere(fake: FakeGitHub) -> None:
    from rally_gitops.delivery.github import GitHub
    from rally_gitops.errors import RallyError

    fake.script(
        "GET",
        "/repos/acme/rally/issues/1/comments",
        200,
        {"Link": '<https://evil.example/steal?page=2>; rel="next"'},
        [],
    )
    with pytest.raises(RallyError, match="refusing to send the GitHub token to evil.example"):
        list(GitHub(TOKEN, fake.url).paginate("/repos/acme/rally/issues/1/comments"))


def test_deployment_status_creates_once_then_lists(cli, fake: FakeGitHub) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    args = ("github", "deployment", "--repo", REPO, "--env", "staging", "--ref", sha)
    started = cli(*args, "--state", "in_progress", "--log-url", "https://ci.example/run/1")
    assert started.code == 0, started.text
    done = cli(*args, "--state", "success")
    assert done.code == 0, done.text
    created = [
        r for r in fake.requests if (r.method, r.path) == ("POST", "/repos/acme/rally/deployments")
    ]
    assert len(created) == 1
    assert (
        created[0].body["environment"] == "staging" and created[0].body["task"] == "deploy:schema"
    )
    assert created[0].body["required_contexts"] == [] and created[0].body["ref"] == sha
    dep_id = fake.deployments[0]["id"]
    assert [s["state"] for s in fake.statuses[dep_id]] == ["success", "in_progress"]
    assert fake.statuses[dep_id][1]["log_url"] == "https://ci.example/run/1"

    listing = cli("deployments", "--env", "staging", "--repo", REPO)
    assert listing.code == 0, listing.text
    assert "latest 1 deployment(s) to staging" in listing.out
    assert "0123456  success" in listing.out
    query = [r.query for r in fake.requests if r.path == "/repos/acme/rally/deployments"][-1]
    assert query == {"environment": "staging", "per_page": "5"}
    assert cli("deployments", "--env", "production", "--repo", REPO).out.endswith(
        "no deployments to production\n"
    )


@pytest.mark.parametrize(
    ("remote", "repo"),
    [
        ("git@github.com:acme/rally.git", "acme/rally"),
        ("https://github.com/acme/rally", "acme/rally"),
        ("https://x-access-token:abc@github.example.com/acme/rally.git", "acme/rally"),
        ("ssh://git@github.com/acme/rally.js.git", "acme/rally.js"),
        ("", None),
    ],
)
def test_repo_from_remote(remote: str, repo: str | None) -> None:
    from rally_gitops.delivery.github import repo_from_remote

    assert repo_from_remote(remote) == repo


def test_repo_defaults_to_the_origin_remote(cli, fake: FakeGitHub, project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(
        ["git", "-C", str(project), "remote", "add", "origin", "git@github.com:acme/rally.git"],
        check=True,
    )
    result = cli("deployments", "--env", "staging")
    assert result.code == 0, result.text
    assert fake.calls()[0] == ("GET", "/repos/acme/rally/deployments")
    assert cli("deployments", "--env", "x", env={"GITHUB_REPOSITORY": "acme/other"}).code == 1


def test_bad_reviewer_names_and_validation_errors(cli, fake: FakeGitHub) -> None:
    bad = cli("github", "setup", "--repo", REPO, "--reviewers", "../admin")
    assert bad.code == 2 and "not a GitHub login or team slug" in bad.err
    assert cli("github", "setup", "--repo", "acme", "--reviewers", "alice").code == 2
    assert fake.calls() == []
    fake.script(
        "PUT", f"{ENVS}/production", 422,
        body={"message": "Validation Failed", "errors": ["reviewers need a paid plan"]},
    )  # fmt: skip
    result = cli("github", "setup", "--repo", REPO, "--reviewers", "alice")
    assert result.code == 1
    assert "GitHub rejected PUT /repos/acme/rally/environments/production (422 (Validation " in (
        result.err
    )
    assert "reviewers need a paid plan" in result.err


def test_setup_checks_the_repository_and_admin_rights_first(cli, fake: FakeGitHub) -> None:
    missing = cli("github", "setup", "--repo", "acme/nope", "--reviewers", "alice")
    assert missing.code == 1
    assert (
        missing.err == "error: repository acme/nope not found, or the token has no access to it\n"
    )
    fake.read_only.add(REPO)
    fake.requests.clear()
    denied = cli("github", "setup", "--repo", REPO, "--reviewers", "alice")
    assert denied.code == 1 and "the token has no admin rights on acme/rally" in denied.err
    assert fake.calls() == [("GET", "/repos/acme/rally")]
