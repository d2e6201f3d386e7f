"""GitHub REST client for Baton's writes: reviews, sticky comments, check runs, pull requests.

Built on ``githubkit`` (``pip install 'baton[github]'``), imported lazily. Authentication
is a token (``BATON_GITHUB_TOKEN``, ``GITHUB_TOKEN`` or ``GH_TOKEN``) or a GitHub App
(``BATON_GITHUB_APP_ID``, ``BATON_GITHUB_APP_PRIVATE_KEY`` and optionally
``BATON_GITHUB_APP_INSTALLATION_ID``); the API base URL is ``GITHUB_API_URL`` (GitHub
Enterprise Server: ``https://HOST/api/v3``).

Only Baton holds the token: agents run with an allow-listed environment that never
contains it, and everything they produce is validated before Baton writes it
(:mod:`baton.integrations.github_review`, :mod:`baton.integrations.hooks`).

Exception tree::

    BatonError
    └── GitHubError                 a GitHub call failed or cannot be made (exit 1)
        ├── GitHubNotConfigured     no token / app credentials, or no repository (exit 2)
        └── GitHubApiError          the API answered with an error status
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from baton.errors import BatonError

DEFAULT_API_URL = "https://api.github.com"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REMOTE = re.compile(r"(?:[:/])([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")
# where the token may be found, first match wins (the Action passes BATON_GITHUB_TOKEN)
TOKEN_VARIABLES = ("BATON_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
PER_PAGE = 100
MAX_PAGES = 30
# every review thread of a pull request, 100 a page; the first 100 comments of each
REVIEW_THREADS = """
query($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes {
          isResolved
          isOutdated
          path
          line
          originalLine
          comments(first: 100) {
            nodes {
              databaseId
              author { __typename login }
              authorAssociation
              body
              path
              line
              originalLine
            }
          }
        }
      }
    }
  }
}
"""


class GitHubError(BatonError):
    """A GitHub call failed or cannot be made."""


class GitHubNotConfigured(GitHubError):
    """No credentials or no repository to talk to."""

    cli_exit_code = 2


class GitHubApiError(GitHubError):
    """The API answered with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    """Where and as whom Baton talks to GitHub."""

    repository: str
    api_url: str = DEFAULT_API_URL
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    app_installation_id: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], repository: str | None = None) -> GitHubSettings:
        """Settings from the environment (the Actions variables and Baton's own)."""
        repo = repository or env.get("GITHUB_REPOSITORY") or ""
        if not _REPO.match(repo):
            raise GitHubNotConfigured(
                f"no GitHub repository (got {repo!r}); pass --repo OWNER/NAME or set GITHUB_REPOSITORY"
            )
        installation = env.get("BATON_GITHUB_APP_INSTALLATION_ID")
        return cls(
            repository=repo,
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            token=next((env[name] for name in TOKEN_VARIABLES if env.get(name)), None),
            app_id=env.get("BATON_GITHUB_APP_ID") or None,
            app_private_key=env.get("BATON_GITHUB_APP_PRIVATE_KEY") or None,
            app_installation_id=int(installation) if installation and installation.isdigit() else None,
        )

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]

    @property
    def has_credentials(self) -> bool:
        return bool(self.token or (self.app_id and self.app_private_key))


def repository_from_remote(url: str) -> str | None:
    """``owner/name`` from a GitHub remote URL (https or ssh), or None."""
    match = _REMOTE.search(url.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def _load_githubkit() -> Any:
    try:
        import githubkit
    except ModuleNotFoundError:
        raise GitHubNotConfigured(
            "the GitHub integration needs githubkit; install it with: pip install 'baton[github]'"
        ) from None
    return githubkit


class GitHubClient:
    """The GitHub calls Baton makes, for one repository."""

    def __init__(self, settings: GitHubSettings) -> None:
        if not settings.has_credentials:
            raise GitHubNotConfigured(
                "no GitHub credentials: set GITHUB_TOKEN (or BATON_GITHUB_APP_ID and "
                "BATON_GITHUB_APP_PRIVATE_KEY for a GitHub App)"
            )
        self.settings = settings
        self._gh: Any = None

    async def _client(self) -> Any:
        if self._gh is not None:
            return self._gh
        kit = _load_githubkit()
        s = self.settings
        if s.token:
            self._gh = kit.GitHub(s.token, base_url=s.api_url)
            return self._gh
        from githubkit import AppAuthStrategy, AppInstallationAuthStrategy

        key = str(s.app_private_key)
        installation = s.app_installation_id
        if installation is None:
            app = kit.GitHub(AppAuthStrategy(s.app_id, key), base_url=s.api_url)
            found = await self._call(app.rest.apps.async_get_repo_installation(s.owner, s.name))
            installation = int(found["id"])
        self._gh = kit.GitHub(AppInstallationAuthStrategy(s.app_id, key, installation), base_url=s.api_url)
        return self._gh

    async def git_token(self) -> str:
        """A token ``git push`` can use: the configured token, or a new installation token of the App."""
        s = self.settings
        if s.token:
            return s.token
        from githubkit import AppAuthStrategy

        app = _load_githubkit().GitHub(AppAuthStrategy(s.app_id, str(s.app_private_key)), base_url=s.api_url)
        installation = s.app_installation_id
        if installation is None:
            found = await self._call(app.rest.apps.async_get_repo_installation(s.owner, s.name))
            installation = int(found["id"])
        data = await self._call(app.rest.apps.async_create_installation_access_token(installation))
        return str(data["token"])

    @staticmethod
    def _api_error(exc: Exception) -> GitHubApiError:
        """A githubkit error as Baton's (status, method, path and GitHub's message)."""
        from githubkit.exception import GraphQLFailed, RequestFailed

        if isinstance(exc, RequestFailed):
            status = exc.response.status_code
            try:
                detail = exc.response.json()
                message = str(detail.get("message", "")) if isinstance(detail, dict) else ""
                errors = detail.get("errors") if isinstance(detail, dict) else None
            except ValueError:
                message, errors = "", None
            extra = f" ({'; '.join(map(str, errors))})" if errors else ""
            return GitHubApiError(
                f"GitHub API {exc.response.raw_request.method} "
                f"{exc.response.raw_request.url.path}: {status} {message}{extra}",
                status=status,
            )
        if isinstance(exc, GraphQLFailed):
            messages = "; ".join(str(e.message) for e in exc.response.errors or [])
            return GitHubApiError(f"GitHub GraphQL API: {messages or exc}")
        return GitHubApiError(f"cannot reach the GitHub API: {exc}")

    @classmethod
    async def _call(cls, awaitable: Any) -> Any:
        from githubkit.exception import RequestError, RequestFailed

        try:
            response = await awaitable
        except (RequestFailed, RequestError) as exc:
            raise cls._api_error(exc) from None
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    async def _pages(self, method: Any, *args: Any, **kwargs: Any) -> list[Any]:
        items: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            batch = await self._call(method(*args, per_page=PER_PAGE, page=page, **kwargs))
            items.extend(batch or [])
            if not batch or len(batch) < PER_PAGE:
                break
        return items

    # -- reads ---------------------------------------------------------------------------------
    async def repo(self) -> dict[str, Any]:
        gh = await self._client()
        result: dict[str, Any] = await self._call(
            gh.rest.repos.async_get(self.settings.owner, self.settings.name)
        )
        return result

    async def pull(self, number: int) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        result: dict[str, Any] = await self._call(gh.rest.pulls.async_get(s.owner, s.name, number))
        return result

    async def pull_files(self, number: int) -> list[dict[str, Any]]:
        gh = await self._client()
        s = self.settings
        return await self._pages(gh.rest.pulls.async_list_files, s.owner, s.name, number)

    async def issue(self, number: int) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        result: dict[str, Any] = await self._call(gh.rest.issues.async_get(s.owner, s.name, number))
        return result

    async def issue_comments(self, number: int) -> list[dict[str, Any]]:
        gh = await self._client()
        s = self.settings
        return await self._pages(gh.rest.issues.async_list_comments, s.owner, s.name, number)

    async def review_comments(self, number: int) -> list[dict[str, Any]]:
        gh = await self._client()
        s = self.settings
        return await self._pages(gh.rest.pulls.async_list_review_comments, s.owner, s.name, number)

    async def reviews(self, number: int) -> list[dict[str, Any]]:
        """The submitted reviews of pull request ``number`` (bodies, states, authors), all pages."""
        gh = await self._client()
        s = self.settings
        return await self._pages(gh.rest.pulls.async_list_reviews, s.owner, s.name, number)

    async def review_threads(self, number: int) -> list[dict[str, Any]]:
        """Every review thread of pull request ``number`` (GraphQL, all pages): ``isResolved``,
        ``isOutdated``, ``path``, ``line`` and its comments (``comments.nodes``)."""
        from githubkit.exception import GitHubException

        gh = await self._client()
        s = self.settings
        threads: list[dict[str, Any]] = []
        pages = gh.graphql.paginate(REVIEW_THREADS, {"owner": s.owner, "name": s.name, "number": number})
        try:
            async for page in pages:
                pull = ((page.get("repository") or {}).get("pullRequest")) or {}
                threads.extend((pull.get("reviewThreads") or {}).get("nodes") or [])
                if len(threads) >= PER_PAGE * MAX_PAGES:
                    break
        except GitHubException as exc:
            raise self._api_error(exc) from None
        return threads

    async def check_runs(self, ref: str) -> list[dict[str, Any]]:
        """Every check run of commit ``ref`` (all pages)."""
        gh = await self._client()
        s = self.settings
        runs: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            data = await self._call(
                gh.rest.checks.async_list_for_ref(s.owner, s.name, ref, per_page=PER_PAGE, page=page)
            )
            batch = (data or {}).get("check_runs") or []
            runs.extend(batch)
            total = (data or {}).get("total_count")
            done = len(runs) >= total if isinstance(total, int) else len(batch) < PER_PAGE
            if not batch or done:
                break
        return runs

    async def job(self, job_id: int) -> dict[str, Any] | None:
        """An Actions job (its steps, their conclusions, its URL), or None when it cannot be read."""
        gh = await self._client()
        s = self.settings
        try:
            data = await self._call(gh.rest.actions.async_get_job_for_workflow_run(s.owner, s.name, job_id))
        except GitHubApiError:
            return None
        return data if isinstance(data, dict) else None

    async def job_log(self, job_id: int) -> str | None:
        """The log of an Actions job (a check run id), or None when it cannot be read."""
        gh = await self._client()
        s = self.settings
        try:
            text = await self._call(
                gh.rest.actions.async_download_job_logs_for_workflow_run(s.owner, s.name, job_id)
            )
        except GitHubApiError:
            return None
        return text if isinstance(text, str) else None

    async def file_text(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref`` (contents API), or None when there is no such file."""
        gh = await self._client()
        s = self.settings
        try:
            data = await self._call(gh.rest.repos.async_get_content(s.owner, s.name, path, ref=ref))
        except GitHubApiError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        return base64.b64decode(str(data.get("content", ""))).decode("utf-8", errors="replace")

    async def find_pull(self, head_ref: str) -> dict[str, Any] | None:
        """The open pull request from branch ``head_ref`` of this repository, if any."""
        gh = await self._client()
        s = self.settings
        found = await self._call(
            gh.rest.pulls.async_list(s.owner, s.name, head=f"{s.owner}:{head_ref}", state="open")
        )
        return found[0] if found else None

    # -- writes --------------------------------------------------------------------------------
    async def create_review(
        self, number: int, *, commit_id: str | None, body: str, event: str, comments: list[dict[str, Any]]
    ) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        data: dict[str, Any] = {"body": body, "event": event, "comments": comments}
        if commit_id:
            data["commit_id"] = commit_id
        result: dict[str, Any] = await self._call(
            gh.rest.pulls.async_create_review(s.owner, s.name, number, data=data)
        )
        return result

    async def create_comment(self, number: int, body: str) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        result: dict[str, Any] = await self._call(
            gh.rest.issues.async_create_comment(s.owner, s.name, number, body=body)
        )
        return result

    async def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        result: dict[str, Any] = await self._call(
            gh.rest.issues.async_update_comment(s.owner, s.name, comment_id, body=body)
        )
        return result

    async def reply_to_review_comment(self, number: int, comment_id: int, body: str) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        result: dict[str, Any] = await self._call(
            gh.rest.pulls.async_create_reply_for_review_comment(
                s.owner, s.name, number, comment_id, body=body
            )
        )
        return result

    async def create_check_run(
        self, *, name: str, head_sha: str, conclusion: str, title: str, summary: str
    ) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        data = {
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": title[:255], "summary": summary[:65_000]},
        }
        result: dict[str, Any] = await self._call(gh.rest.checks.async_create(s.owner, s.name, data=data))
        return result

    async def create_pull(
        self, *, title: str, head: str, base: str, body: str, draft: bool = False
    ) -> dict[str, Any]:
        gh = await self._client()
        s = self.settings
        result: dict[str, Any] = await self._call(
            gh.rest.pulls.async_create(
                s.owner,
                s.name,
                data={"title": title, "head": head, "base": base, "body": body, "draft": draft},
            )
        )
        return result


__all__ = [
    "DEFAULT_API_URL",
    "TOKEN_VARIABLES",
    "GitHubApiError",
    "GitHubClient",
    "GitHubError",
    "GitHubNotConfigured",
    "GitHubSettings",
    "repository_from_remote",
]
