"""Refusals in the window: the safety report comes first, the reason is the true one, and code
runs only after the user read the report in the consent dialog and chose Open."""

from __future__ import annotations

from tests.e2e.user import answer_message_box, click_button, drop_files
from tests.model import hostile_files as hostile
from tests.shell.test_main_window import wait_failed, wait_loaded


def dropped_tab(qtbot, window, path):
    drop_files(window, [path])
    qtbot.waitUntil(lambda: bool(window.model_tabs()), timeout=10_000)
    return window.model_tabs()[-1]


def report_rows(tab) -> list[list[str]]:
    view = tab.error_page.report
    return [[view.topLevelItem(i).text(c) for c in range(3)] for i in range(view.topLevelItemCount())]


def test_a_function_from_os_shows_the_report_and_offers_no_way_to_run_it(qtbot, window, tmp_path):
    tab = wait_failed(qtbot, dropped_tab(qtbot, window, hostile.with_os_system(tmp_path)))
    page = tab.error_page
    assert tab.stack.currentWidget() is page
    assert page.report.isVisibleTo(page)
    assert [row[0] for row in report_rows(tab)] == ["Code from a module"]
    assert "module os" in report_rows(tab)[0][2] and report_rows(tab)[0][1].startswith("/config/layers/")
    assert "code from module os" in page.reason.text()
    assert not page.choose_code.isVisibleTo(page) and not page.allow_code.isVisibleTo(page)
    assert "code from module os" in window.statusBar().currentMessage()


def test_a_plain_damaged_file_has_no_report(qtbot, window, tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    tab = wait_failed(qtbot, dropped_tab(qtbot, window, path))
    assert not tab.error_page.report.isVisibleTo(tab.error_page)
    assert "truncated or damaged" in tab.error_page.reason.text()


def test_the_consent_dialog_lists_the_report_and_code_runs_only_after_open(qtbot, window, tmp_path):
    marker = tmp_path / "ran"
    tab = wait_failed(qtbot, dropped_tab(qtbot, window, hostile.with_lambda(tmp_path, marker)))
    assert [row[0] for row in report_rows(tab)] == ["Python code"]
    seen = answer_message_box(qtbot, "Cancel")
    click_button(qtbot, tab.error_page, "Open anyway and run its code…")
    assert seen and "its safety report" in seen[0].lower()
    assert "Lambda layer writes_marker holds Python code" in seen[0]
    assert not marker.exists() and tab.stack.currentWidget() is tab.error_page
    answer_message_box(qtbot, "Open")
    click_button(qtbot, tab.error_page, "Open anyway and run its code…")
    wait_loaded(qtbot, tab)
    assert marker.exists()  # the user agreed: now the code ran
    assert tab.stack.currentWidget() is not tab.error_page


def test_every_kind_of_finding_has_a_name_in_the_window():
    from inspector.model.file_safety import KINDS
    from widgets.shell.refusal_page import KIND_NAMES

    assert set(KIND_NAMES) == set(KINDS)
