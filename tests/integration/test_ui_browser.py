"""The web UI in a real browser: Debian's chromium, driven by Playwright, against a live server on SQLite.

One browser and one server per module (per xdist worker), a fresh browser context per
test. Assertions use Playwright's auto-waiting ``expect``: no sleeps. Under ``CI=true`` a
missing chromium or Playwright fails the run instead of skipping it.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for
from tests.integration.running import FLOWS

IN_CI = os.environ.get("CI", "").lower() == "true"
WAIT_MS = 15_000  # the longest any expectation waits (a slow CI machine), not how long it takes
YAML = {"Content-Type": "application/x-yaml"}

GREET = """id: {flow_id}
namespace: lanner.ui
inputs:
  - id: name
    type: STRING
  - id: times
    type: INT
    defaults: 1
  - id: loud
    type: BOOLEAN
    defaults: false
  - id: color
    type: SELECT
    values: [red, green]
    defaults: red
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.{log}
    message: "hello {{{{ inputs.name }}}} x{{{{ inputs.times }}}} loud={{{{ inputs.loud }}}} {{{{ inputs.color }}}}"
  - id: careful
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: mind the gap
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "said {{{{ inputs.name }}}}"
"""
TYPE_LINE = 18  # the line of greet's type in GREET

FLAKY = """id: {flow_id}
namespace: lanner.ui
tasks:
  - id: first_try_fails
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ taskrun.attemptsCount < 2 }}}}"
    errorMessage: fails on its first attempt only
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: done
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if executable is None or sync_playwright is None:
        why = ("the browser tests need Debian's chromium and the playwright package "
               "(make test installs both: apt-get install chromium, pip install -e .[test])")
        if IN_CI:
            pytest.fail(f"{why}; they never skip in CI", pytrace=False)
        pytest.skip(why)
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield launched
        launched.close()


@contextmanager
def serving(folder: Path, auth: Any = None) -> Iterator[str]:
    """A live Lanner (webserver, executor, worker) on a fresh SQLite file; its base URL."""
    with pytest.MonkeyPatch.context() as env:  # module scope: isolate from the developer's ~/.lanner too
        env.setenv("HOME", str(folder))
        for name in [n for n in os.environ if n.startswith("LANNER_") and not n.startswith("LANNER_TEST_")]:
            env.delenv(name)
        engine = prepare_database(config_for(f"sqlite:///{folder / 'lanner.db'}"), may_migrate=True)
        try:
            with Runtime(engine, executors=1, worker_threads=2, storage_path=folder / "storage", web_port=0,
                         web_auth=auth) as runtime:
                yield f"http://127.0.0.1:{runtime.web.wait_started()}"
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("ui")) as url:
        yield url


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server)
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert not problems, f"the page's scripts failed: {problems}"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def deploy(api: httpx.Client, source: str) -> None:
    response = api.post("/api/v1/flows", content=source, headers=YAML)
    assert response.status_code == 200, response.text


def test_write_a_flow_see_its_error_fix_it_execute_it_and_read_its_logs(page):
    from playwright.sync_api import expect

    flow_id = unique("greet")
    page.goto("/ui/flows/new")
    page.locator("#source").fill(GREET.format(flow_id=flow_id, log="Lgo"))
    page.get_by_role("button", name="Save").click()
    marker = page.locator(f".gutter [data-line='{TYPE_LINE}']")
    expect(marker).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator(".highlight .lint")).to_contain_text("unknown task type 'io.kestra.plugin.core.log.Lgo'")
    expect(page.locator("#problems li")).to_contain_text([f"Line {TYPE_LINE}"])
    expect(page.locator("#status")).to_contain_text("invalid flow")

    page.locator("#source").fill(GREET.format(flow_id=flow_id, log="Log"))
    expect(page.locator(".gutter .error")).to_have_count(0)  # checked as you type
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/ui/flows/lanner\.ui/{flow_id}\?saved=1$"))
    expect(page.locator("#saved")).to_have_text("Saved: revision 1.")
    expect(page.locator(".gutter .error")).to_have_count(0)

    # The Execute form: one typed field per input.
    expect(page.locator("#in-times")).to_have_attribute("type", "number")
    expect(page.locator("#in-loud")).to_have_attribute("type", "checkbox")
    expect(page.locator("select#in-color option")).to_have_text(["red", "green"])
    page.locator("#in-name").fill("Ada <b>")
    page.locator("#in-times").fill("3")
    page.locator("#in-loud").check()
    page.locator("#in-color").select_option("green")
    page.get_by_role("button", name="Execute").click()
    expect(page).to_have_url(re.compile(r"/ui/executions/\w+$"))
    expect(page.locator("#state")).to_have_text("SUCCESS")
    expect(page.locator("#taskruns tbody tr")).to_have_count(3)
    expect(page.locator("#taskruns tr[data-task=greet] .bar.SUCCESS")).to_be_visible()
    expect(page.locator("#taskruns tr[data-task=say] td.attempts")).to_have_text("1")
    expect(page.locator("#outputs")).to_contain_text('"value": "said Ada <b>"')
    expect(page.locator("#outputs b")).to_have_count(0)  # data is text, never markup

    hello = page.locator("#logs .log", has_text="hello Ada <b> x3 loud=true green")
    careful = page.locator("#logs .log", has_text="mind the gap")
    expect(hello).to_be_visible()
    expect(careful).to_be_visible()
    page.locator("#level").select_option("WARN")
    expect(hello).to_be_hidden()
    expect(careful).to_be_visible()
    page.locator("#level").select_option("ERROR")
    expect(careful).to_be_hidden()
    page.locator("#level").select_option("TRACE")
    expect(hello).to_be_visible()


def test_edit_a_flow_and_see_the_diff_between_revisions(page, api):
    from playwright.sync_api import expect

    flow_id = unique("edited")
    deploy(api, FLAKY.format(flow_id=flow_id))
    page.goto(f"/ui/flows/lanner.ui/{flow_id}")
    source = page.locator("#source")
    source.fill(source.input_value().replace("format: done", "format: all done"))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_have_text("Saved: revision 2.")
    page.get_by_role("link", name="diff with 1").click()
    expect(page.locator("#diff .del")).to_have_text(["-    format: done"])
    expect(page.locator("#diff .add")).to_have_text(["+    format: all done"])


def test_kill_a_running_execution(page, api):
    from playwright.sync_api import expect

    flow_id = unique("sleepy")
    deploy(api, (FLOWS / "sleepy.yaml").read_text().replace("id: sleepy", f"id: {flow_id}")
           .replace("namespace: lanner.tests", "namespace: lanner.ui"))
    page.goto(f"/ui/flows/lanner.ui/{flow_id}")
    page.get_by_role("button", name="Execute").click()
    expect(page.locator("#taskruns tr[data-task=nap]")).to_have_attribute("data-state", "RUNNING")
    page.get_by_role("button", name="Kill").click()
    expect(page.locator("#state")).to_have_text("KILLED")
    expect(page.get_by_role("button", name="Kill")).to_be_hidden()
    expect(page.get_by_role("button", name="Restart")).to_be_visible()


def test_restart_a_failed_execution_and_see_its_task_run_again(page, api):
    from playwright.sync_api import expect

    flow_id = unique("flaky")
    deploy(api, FLAKY.format(flow_id=flow_id))
    page.goto(f"/ui/flows/lanner.ui/{flow_id}")
    page.get_by_role("button", name="Execute").click()
    expect(page.locator("#state")).to_have_text("FAILED")
    expect(page.locator("#logs")).to_contain_text("fails on its first attempt only")
    page.get_by_role("button", name="Restart").click()
    expect(page.locator("#state")).to_have_text("SUCCESS")
    expect(page.locator("#taskruns tr[data-task=first_try_fails] td.attempts")).to_have_text("2")
    expect(page.locator("#taskruns tr[data-task=after]")).to_have_attribute("data-state", "SUCCESS")


def test_resume_a_paused_execution_with_its_on_resume_inputs(page, api):
    from playwright.sync_api import expect

    flow_id = unique("approval")
    deploy(api, (FLOWS / "pause_approval.yaml").read_text().replace("id: pause_approval", f"id: {flow_id}"))
    page.goto(f"/ui/flows/lanner.tests/{flow_id}")
    page.get_by_role("button", name="Execute").click()
    expect(page.locator("#state")).to_have_text("PAUSED")
    page.get_by_role("button", name="Resume", exact=True).click()
    page.locator("#resume-approve-reason").fill("approved")
    expect(page.locator("#resume-approve-amount")).to_have_value("1")
    page.get_by_role("button", name="Resume with these inputs").click()
    expect(page.locator("#state")).to_have_text("SUCCESS")
    expect(page.locator("#outputs")).to_contain_text('"value": "approved x1"')
    expect(page.locator("#logs .log", has_text="resumed")).to_be_visible()  # logged after the page opened


def test_lists_filter_and_the_executions_list_refreshes_live(page, api):
    from playwright.sync_api import expect

    namespace = unique("lanner.lists").replace("_", ".")
    first, second = unique("first"), unique("second")
    for flow_id, space in ((first, namespace), (second, namespace + ".child")):
        deploy(api, FLAKY.format(flow_id=flow_id).replace("namespace: lanner.ui", f"namespace: {space}"))
    page.goto("/ui/flows")
    page.get_by_label("Namespace").select_option(namespace + ".child")
    expect(page.locator("tr", has_text=second)).to_be_visible()
    expect(page.locator("tr", has_text=first)).to_have_count(0)
    page.get_by_label("Search").fill(first)
    page.get_by_label("Namespace").select_option("")
    expect(page.locator("tr", has_text=first)).to_be_visible()
    expect(page.locator("tr", has_text=second)).to_have_count(0)

    page.goto(f"/ui/executions?namespace={namespace}")
    expect(page.locator("#executions tbody")).to_contain_text("No execution matches")
    page.get_by_label("State").select_option("FAILED")
    expect(page).to_have_url(re.compile(r"state=FAILED"))
    page.get_by_label("Flow").fill("being typed")  # not applied yet: the refresh must not lose it
    failed = api.post(f"/api/v1/executions/{namespace}/{first}", params={"wait": "true"}).json()
    assert failed["state"]["current"] == "FAILED"
    expect(page.locator(f"#executions tr[data-id='{failed['id']}']")).to_contain_text("FAILED")  # no reload
    expect(page.get_by_label("Flow")).to_have_value("being typed")
    page.get_by_label("Flow").fill(second)
    page.get_by_label("Flow").press("Enter")
    expect(page.locator("#executions tbody")).to_contain_text("No execution matches")
    page.get_by_label("Flow").fill("")
    page.get_by_label("Flow").press("Enter")
    expect(page.locator(f"#executions tr[data-id='{failed['id']}']")).to_be_visible()
    page.get_by_label("From (UTC)").fill("2999-01-01T00:00:00")
    expect(page.locator("#executions tbody")).to_contain_text("No execution matches")


def test_basic_auth_guards_the_ui_and_it_works_with_credentials(browser, tmp_path):
    from playwright.sync_api import expect

    from lanner.config.settings import BasicAuth

    auth = BasicAuth(enabled=True, username="admin", password="s3cret")
    with serving(tmp_path, auth) as url:
        anonymous = browser.new_context(base_url=url)
        try:
            for path in ("/ui/flows", "/ui/executions"):  # pages send a browser to the login form
                sent = anonymous.request.get(path, max_redirects=0)
                assert sent.status == 303 and sent.headers["location"].startswith("/ui/login?next="), path
            assert anonymous.request.get("/api/v1/flows/search").status == 401
            assert anonymous.request.get("/health").status == 200
            assert anonymous.request.get("/ui/static/ui.js").status == 200  # what the login form loads
        finally:
            anonymous.close()
        # Basic credentials on every request (as a proxy injecting them would): no login form needed.
        token = base64.b64encode(b"admin:s3cret").decode()
        context = browser.new_context(base_url=url, extra_http_headers={"Authorization": f"Basic {token}"})
        try:
            page = context.new_page()
            page.goto("/ui/flows/new")
            # A pause first: the greeting is logged after the execution page opened, so it comes by the stream.
            page.locator("#source").fill(GREET.format(flow_id="guarded", log="Log").replace(
                "tasks:\n", "tasks:\n  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n    delay: PT1S\n"))
            page.get_by_role("button", name="Save").click()  # fetch carries the credentials
            expect(page.locator("#saved")).to_have_text("Saved: revision 1.")
            page.locator("#in-name").fill("Bo")
            page.get_by_role("button", name="Execute").click()
            expect(page.locator("#state")).to_have_text("SUCCESS")
            expect(page.locator("#logs")).to_contain_text("hello Bo x1")  # the log stream too
        finally:
            context.close()


def test_the_login_form_signs_in_and_the_ui_works_with_its_session(browser, tmp_path):
    from playwright.sync_api import expect

    from lanner.config.settings import BasicAuth

    auth = BasicAuth(enabled=True, username="admin", password="s3cret")
    with serving(tmp_path, auth) as url:
        context = browser.new_context(base_url=url)
        try:
            page = context.new_page()
            page.goto("/ui/flows/new")
            expect(page).to_have_url(re.compile(r"/ui/login\?next="))
            page.locator("#username").fill("admin")
            page.locator("#password").fill("wrong")
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#problem")).to_have_text("Wrong user name or password.")
            page.locator("#username").fill("admin")
            page.locator("#password").fill("s3cret")
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(re.compile(r"/ui/flows/new$"))
            page.locator("#source").fill(GREET.format(flow_id="signed_in", log="Log"))
            page.get_by_role("button", name="Save").click()  # the page's own API calls carry the session
            expect(page.locator("#saved")).to_have_text("Saved: revision 1.")
            page.locator("#in-name").fill("Cy")
            page.get_by_role("button", name="Execute").click()
            expect(page.locator("#state")).to_have_text("SUCCESS")
            expect(page.locator("#logs")).to_contain_text("hello Cy x1")
            page.get_by_role("link", name="Sign out").click()
            expect(page).to_have_url(re.compile(r"/ui/login"))
            page.goto("/ui/executions")
            expect(page).to_have_url(re.compile(r"/ui/login\?next="))
        finally:
            context.close()


SCHEDULED = """id: {flow_id}
namespace: lanner.ui
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: tick
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
"""


def test_disable_a_trigger_and_start_pause_and_cancel_a_backfill(page, api):
    from playwright.sync_api import expect

    flow_id = unique("scheduled")
    deploy(api, SCHEDULED.format(flow_id=flow_id))
    page.goto("/ui/triggers?namespace=lanner.ui")
    row = page.locator(f"#triggers tr[data-flow={flow_id}][data-trigger=nightly]")
    expect(row.locator(".state-cell")).to_contain_text("ENABLED")
    row.get_by_role("button", name="Disable").click()
    expect(row.locator(".state-cell")).to_contain_text("DISABLED")
    expect(row.get_by_role("button", name="Enable")).to_be_visible()
    assert api.get(f"/api/v1/triggers/lanner.ui/{flow_id}/nightly").json()["disabled"] is True

    row.locator("input[name=start]").fill("2024-03-01T00:00:00")
    row.locator("input[name=end]").fill("2024-03-02T00:00:00")
    row.get_by_role("button", name="Backfill").click()
    expect(row.locator(".backfill")).to_contain_text("running, 0 fired, from 2024-03-01T00:00:00+00:00")
    backfill = api.get(f"/api/v1/triggers/lanner.ui/{flow_id}/nightly").json()["backfill"]
    assert backfill["start"] == "2024-03-01T00:00:00+00:00" and backfill["end"] == "2024-03-02T00:00:00+00:00"
    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".backfill")).to_contain_text("paused")
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".backfill")).to_contain_text("running")
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".backfill")).to_have_text("")
    expect(row.get_by_role("button", name="Backfill")).to_be_visible()
    assert api.get(f"/api/v1/triggers/lanner.ui/{flow_id}/nightly").json()["backfill"] is None

    # The flow's page shows its triggers too, with the same buttons.
    page.goto(f"/ui/flows/lanner.ui/{flow_id}")
    flow_row = page.locator("#triggers tr[data-trigger=nightly]")
    expect(flow_row.locator(".state-cell")).to_contain_text("DISABLED")
    flow_row.get_by_role("button", name="Enable").click()
    expect(flow_row.locator(".state-cell")).to_contain_text("ENABLED")


def test_the_editor_migrates_deprecated_syntax_and_saves_it(page):
    from playwright.sync_api import expect

    flow_id = unique("legacy")
    page.goto("/ui/flows/new")
    page.locator("#source").fill(f"""id: {flow_id}
namespace: lanner.ui
# a comment that must survive
tasks:
  - id: hello
    type: io.kestra.core.tasks.log.Log
    message: hi
""")
    expect(page.locator("#problems li.warning")).to_contain_text(["is replaced by `io.kestra.plugin.core.log.Log`"])
    page.get_by_role("button", name="Migrate deprecated syntax").click()
    expect(page.locator("#status")).to_contain_text("1 change made (not saved yet)")
    assert "type: io.kestra.plugin.core.log.Log" in page.locator("#source").input_value()
    assert "# a comment that must survive" in page.locator("#source").input_value()
    expect(page.locator("#problems li.warning")).to_have_count(0)
    page.get_by_role("button", name="Migrate deprecated syntax").click()
    expect(page.locator("#status")).to_have_text("Nothing to migrate: the flow uses current syntax.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_have_text("Saved: revision 1.")
