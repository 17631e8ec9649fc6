"""strip_api_info: the schema script of a page is emptied; a page that may hold one it cannot find is refused."""

from __future__ import annotations

from studio.server.schema_guard import strip_api_info

PAGE = (
    b'<script>window.gradio_config = {"auth_required":true};</script>'
    b'<script>window.gradio_api_info = {"named_endpoints":{"/terrain":{"parameters":[]}}};</script><p>login</p>'
)


def test_the_schema_is_emptied_and_the_rest_kept():
    page = strip_api_info(PAGE)
    assert page is not None
    assert b"/terrain" not in page
    assert b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>' in page
    assert page.startswith(b'<script>window.gradio_config = {"auth_required":true};</script>')
    assert page.endswith(b"<p>login</p>")


def test_a_page_without_a_schema_is_left_alone_and_an_unrecognised_one_refused():
    assert strip_api_info(b"<p>404</p>") == b"<p>404</p>"
    assert strip_api_info(b"<script>gradio_api_info = JSON.parse('...')</script>") is None


def test_a_script_goes_into_the_head():
    page = strip_api_info(
        b"<html><head><title>x</title></head><body>" + PAGE + b"</body></html>", b"<script>1</script>"
    )
    assert page is not None and b"<title>x</title><script>1</script></head>" in page
