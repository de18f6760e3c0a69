"""What a new user meets in the UI, in a real browser: the API docs offline, the way in from ``/``,
labels in the live executions list, and an execution page that tells subflows, branches and attempts apart.

Same browser, server and fixtures as ``test_ui_browser`` (imported from it): one server per module.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# The fixtures, shared with test_ui_browser (pytest finds them by name in this module).
from tests.integration.test_ui_browser import api, browser, deploy, page, server, unique  # noqa: F401

CHILD = """id: {flow_id}
namespace: lanner.ui
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hello from the child
outputs:
  - id: greeting
    type: STRING
    value: "{{{{ outputs.hello.value }}}}"
"""

PARENT = """id: {flow_id}
namespace: lanner.ui
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: lanner.ui
    flowId: {child}
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ taskrun.attemptsCount < 2 }}}}"
    errorMessage: fails on its first attempt only
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 3
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: boom
errors:
  - id: on_error
    type: io.kestra.plugin.core.log.Log
    message: handling it
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: cleaning up
"""

QUIET = """id: {flow_id}
namespace: lanner.ui
labels:
  team: data
  tier: gold
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def test_the_api_docs_render_their_operations_with_no_internet(browser, server):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=server)
    blocked: list[str] = []

    def local_only(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # no internet: whatever the page would fetch from elsewhere fails
            blocked.append(route.request.url)
            route.abort()

    try:
        context.route("**/*", local_only)
        docs = context.new_page()
        docs.goto("/api/docs")
        expect(docs.locator(".opblock-summary-path", has_text="/api/v1/{tenant}/flows/search").first).to_be_visible()
        expect(docs.locator(".opblock").first).to_be_visible()
        assert docs.locator(".opblock").count() > 20  # every operation, not a blank page
        assert blocked == [], f"the docs page asked for non-local resources: {blocked}"
    finally:
        context.close()


def test_the_root_leads_to_the_ui_and_sign_out_is_hidden_without_authentication(page):
    from playwright.sync_api import expect

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/ui/executions$"))
    expect(page.locator("h1")).to_have_text("Executions")
    expect(page.get_by_role("link", name="Flows")).to_be_visible()  # the header is there...
    expect(page.get_by_role("link", name="Sign out")).to_have_count(0)  # ...with nothing to sign out of


def test_labels_show_as_text_after_the_live_refresh(page, api):
    from playwright.sync_api import expect

    namespace = unique("lanner.labels").replace("_", ".")
    flow_id = unique("quiet")
    deploy(api, QUIET.format(flow_id=flow_id).replace("namespace: lanner.ui", f"namespace: {namespace}"))
    page.goto(f"/ui/executions?namespace={namespace}")
    expect(page.locator("#executions tbody")).to_contain_text("No execution matches")
    started = api.post(f"/api/v1/executions/{namespace}/{flow_id}", params={"wait": "true", "labels": "run:first"})
    assert started.status_code == 200, started.text
    row = page.locator(f"#executions tr[data-id='{started.json()['id']}']")  # only the live refresh adds it
    expect(row.locator(".label")).to_have_text(["team:data", "tier:gold", "run:first"])
    expect(row).not_to_contain_text("[object")


def test_the_execution_page_links_subflows_marks_branches_and_shows_each_attempt(page, api):
    from playwright.sync_api import expect

    child_id, parent_id = unique("child"), unique("parent")
    deploy(api, CHILD.format(flow_id=child_id))
    deploy(api, PARENT.format(flow_id=parent_id, child=child_id))
    done = api.post(f"/api/v1/executions/lanner.ui/{parent_id}", params={"wait": "true"}).json()
    assert done["state"]["current"] == "FAILED"
    page.goto(f"/ui/executions/{done['id']}")

    runs = page.locator("#taskruns")
    call = runs.locator("tr[data-task=call]")
    expect(call.locator("td.attempts")).to_have_text("1")  # the subflow's attempt, not 0
    expect(runs.locator("tr[data-task=on_error] .badge")).to_have_text("errors")
    expect(runs.locator("tr[data-task=cleanup] .badge")).to_have_text("finally")
    expect(runs.locator("tr[data-task=flaky] .badge, tr[data-task=call] .badge")).to_have_count(0)

    expect(runs.locator("tr[data-task=flaky] td.attempts")).to_have_text("2")
    attempts = runs.locator("tr.attempt[data-attempt-of=flaky]")
    expect(attempts).to_have_count(2)
    expect(attempts.locator(".state")).to_have_text(["FAILED", "SUCCESS"])
    expect(attempts.nth(0).locator(".message")).to_have_text("fails on its first attempt only")
    for row in (attempts.nth(0), attempts.nth(1)):
        expect(row.locator(".worker")).to_contain_text(re.compile(r"^on \S+"))
        expect(row.locator(".took")).to_have_text(re.compile(r"^\d+(\.\d+)? (ms|s)$"))
    expect(runs.locator("tr.attempt[data-attempt-of=call]")).to_have_count(0)  # one attempt: no extra row

    # The subflow's execution id is a link to the child's page, whose flow outputs are shown.
    call.locator("a.child").click()
    expect(page).to_have_url(re.compile(r"/ui/executions/\w+$"))
    expect(page.locator("#state")).to_have_text("SUCCESS")
    expect(page.locator("#outputs tr", has_text="greeting")).to_contain_text("flow output")
    expect(page.locator("#outputs")).to_contain_text('"hello from the child"')


def test_an_ended_execution_without_outputs_says_none(page, api):
    from playwright.sync_api import expect

    flow_id = unique("quiet")
    deploy(api, QUIET.format(flow_id=flow_id))
    done = api.post(f"/api/v1/executions/lanner.ui/{flow_id}", params={"wait": "true"}).json()
    assert done["state"]["current"] == "SUCCESS"
    page.goto(f"/ui/executions/{done['id']}")
    expect(page.locator("#taskruns tr[data-task=hello]")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator("#outputs")).to_have_text("None: the execution ended without outputs.")
