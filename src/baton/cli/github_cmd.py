"""``baton github action`` (the GitHub Action's entry point) and ``baton github review``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer

from baton.cli.app import EXIT_FAILED, EXIT_OK, ConfigOption, console, err_console, handle_errors, print_json
from baton.models import Trigger
from baton.wording import counted

github_app = typer.Typer(
    help="Run workflows for GitHub: the Action's entry point, PR reviews.", no_args_is_help=True
)


@github_app.command("action")
@handle_errors
def action_command(
    workflow: str = typer.Option(
        "", "--workflow", envvar="BATON_WORKFLOW", help="Workflow to run (default: picked from the event)."
    ),
    config: str = typer.Option(
        "",
        "--config",
        envvar="BATON_CONFIG",
        help="baton.yaml in the repository (default: generated from --agents).",
    ),
    agents: str = typer.Option(
        "",
        "--agents",
        envvar="BATON_AGENTS",
        help="Agent CLIs for a generated configuration, e.g. claude,codex.",
    ),
    fail_on: str = typer.Option(
        "request_changes",
        "--fail-on",
        envvar="BATON_FAIL_ON",
        help="never, error, request_changes or comment.",
    ),
    allow_forks: bool = typer.Option(
        False,
        "--allow-forks",
        envvar="BATON_ALLOW_FORKS",
        help="Run with secrets and write to GitHub for fork pull requests too.",
    ),
    allow_approve: bool = typer.Option(
        False, "--allow-approve", envvar="BATON_ALLOW_APPROVE", help="Let a review approve the pull request."
    ),
    check_run: bool = typer.Option(True, "--check-run/--no-check-run", help="Create a check run."),
) -> None:
    """Read GITHUB_EVENT_PATH, run the workflow, post the results, set the outputs, exit per --fail-on."""
    from baton.integrations.github_actions import ActionOptions, run_action

    options = ActionOptions(
        workflow=workflow,
        config=config,
        agents=agents,
        fail_on=fail_on.strip().lower(),
        allow_forks=allow_forks,
        allow_approve=allow_approve,
        check_run=check_run,
    )
    outcome = asyncio.run(
        run_action(
            options, os.environ, log=lambda line: err_console.print(line, highlight=False, markup=False)
        )
    )
    console.print(
        f"verdict: {outcome.verdict}  execution: {outcome.execution_id or '-'}  "
        f"cost: ${outcome.cost_usd:.4f}",
        highlight=False,
    )
    raise typer.Exit(outcome.exit_code)


@github_app.command("review")
@handle_errors
def review_command(
    pr: int = typer.Option(..., "--pr", help="Pull request number."),
    incremental: bool = typer.Option(
        False, "--incremental", help="Review only what changed since Baton's last review of it."
    ),
    repo: str | None = typer.Option(
        None, "--repo", help="OWNER/NAME (default: GITHUB_REPOSITORY or origin)."
    ),
    allow_approve: bool = typer.Option(False, "--allow-approve", help="Let the review approve the PR."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Review, print, but post nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the merged review as JSON."),
    config: Path | None = ConfigOption,
) -> None:
    """Review pull request PR with the code-review workflow and post one review plus a sticky comment."""
    code = asyncio.run(_review(pr, incremental, repo, allow_approve, dry_run, as_json, config))
    raise typer.Exit(code)


async def _review(
    pr: int,
    incremental: bool,
    repo: str | None,
    allow_approve: bool,
    dry_run: bool,
    as_json: bool,
    config: Path | None,
) -> int:
    from baton.cli.app import resolve_config_path
    from baton.engine import Baton
    from baton.integrations.github import GitHubClient, GitHubSettings
    from baton.integrations.github_review import post_review
    from baton.integrations.hooks import prepare, publish, repository_for
    from baton.models import ExecutionStatus

    baton = Baton.from_config(resolve_config_path(config), cwd=Path.cwd())
    try:
        workflow = baton.workflow("code-review")
        client = None
        if not dry_run:
            settings = GitHubSettings.from_env(os.environ, repo or repository_for({}, Path.cwd(), os.environ))
            client = GitHubClient(settings)
        params = {"pr": str(pr), "incremental": "true" if incremental else "false"}
        prepared = await prepare(baton, workflow, params, None, os.environ, client)
        for note in prepared.notes:
            err_console.print(note, highlight=False, markup=False)
        result = await baton.run("code-review", prepared.params, workspace_dir=prepared.workspace_dir,
                                 trigger=Trigger.CLI).wait()
        if result.status is not ExecutionStatus.COMPLETED:
            err_console.print(f"error: {result.error}", highlight=False, markup=False)
            return EXIT_FAILED
        published = await publish(baton, workflow, result, post=False)
        if as_json:
            print_json(published.data)
        else:
            console.print(published.text, highlight=False, markup=False, soft_wrap=True)
        if client is not None:
            posted = await post_review(
                client,
                pr,
                published.data,
                workflow_id=workflow.id,
                allow_approve=allow_approve,
                execution_id=result.execution_id,
            )
            err_console.print(
                f"posted a {posted.event} review on #{pr}: {counted(posted.inline, 'inline comment')}, "
                f"{posted.outside} in the body",
                highlight=False,
                markup=False,
            )
        return EXIT_OK
    finally:
        baton.close()


def register(app: typer.Typer) -> None:
    app.add_typer(github_app, name="github")
