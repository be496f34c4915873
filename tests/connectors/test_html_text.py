"""html_to_text on real Mastodon content and on the markup edge cases it must get right."""

from __future__ import annotations

import json

import pytest

from connectors.html_text import html_to_text
from tests.cassettes import FIXTURES, load_cassette


def _status_content(cassette: str, interaction: int, *, in_notification: bool) -> str:
    body = load_cassette(cassette).interactions[interaction].response.json()
    item = body[0] if isinstance(body, list) else body
    content = (item["status"] if in_notification else item)["content"]
    assert isinstance(content, str)
    return content


def test_mention_anchor_becomes_its_handle() -> None:
    content = _status_content(
        "mastodon/notifications_mentions_only.cassette.yaml", 1, in_notification=True
    )
    assert "<span" in content  # the real recorded HTML, not a simplification
    assert html_to_text(content) == "@mastodonpy_test hello!"


def test_several_remote_mentions_in_a_direct_message() -> None:
    body = load_cassette("mastodon/notifications_mastodon_social.cassette.yaml")
    content = body.interactions[0].response.json()[3]["status"]["content"]
    assert html_to_text(content) == (
        "@halcy@mastodon.social @halcy@glitch.social @halcy@hachyderm.io "
        "____________LATENCYPING____________1774220754.2367332____________LATENCYPING____________"
    )


def test_hashtag_and_paragraphs_from_a_federated_status() -> None:
    content = _status_content(
        "mastodon/status_remote_mastodon_social.cassette.yaml", 0, in_notification=False
    )
    assert html_to_text(content) == (
        "@halcy you're a doo-doo head\n\n"
        "edit: editing this to have the maximum amount of fields filled :trans_heart: "
        "#ThisIsAHashtag"
    )


def test_link_with_invisible_spans_becomes_the_whole_url() -> None:
    status = json.loads((FIXTURES / "mastodon/docs_entity_status_example.json").read_text())
    assert html_to_text(status["content"]) == (
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
    )


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            '<p><a href="https://x.test/tags/hoot" class="mention hashtag" rel="tag">'
            "#<span>hoot</span></a> (hashtag toot)</p>",
            "#hoot (hashtag toot)",
        ),
        ("<p>one</p><p>two</p><p>three</p>", "one\n\ntwo\n\nthree"),
        ("<p>line one<br>line two<br/>line three</p>", "line one\nline two\nline three"),
        ("<p>a<br><br>b</p>", "a\n\nb"),
        ("<p>a<br></p><p>b</p>", "a\n\nb"),
        ("  <p>  spaced \n\t out  </p>  ", "spaced out"),
        ("<p>a <span> b</span></p>", "a b"),
        ("<p>a<br>\n   b</p>", "a\nb"),
        ("<p>code:</p><pre>x = 1\n    y = 2</pre>", "code:\n\nx = 1\n    y = 2"),
        ("<pre>x</pre><p>after   pre</p>", "x\n\nafter pre"),
        ("<p>trailing space <br>next</p>", "trailing space\nnext"),
        ("<ul><li>one</li><li>two</li></ul><p>after</p>", "one\ntwo\n\nafter"),
        ("<blockquote><p>quoted</p></blockquote><p>reply</p>", "quoted\n\nreply"),
        ("", ""),
        ("   ", ""),
        ("<p></p>", ""),
        ("plain text, no markup", "plain text, no markup"),
        ("caf&eacute; &amp; cr&#232;me &#x1F600;", "café & crème 😀"),
        ("<p>caf&eacute; &amp; co</p>", "café & co"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("<p>a < b and c > d</p>", "a < b and c > d"),
    ],
)
def test_markup_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<script>alert(1)</script>"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
        ("<p>use &lt;b&gt;bold&lt;/b&gt; &amp; &lt;br&gt;</p>", "use <b>bold</b> & <br>"),
        ("<p>&amp;lt;p&amp;gt;</p>", "&lt;p&gt;"),  # unescaped once, not twice
    ],
)
def test_escaped_markup_stays_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_real_script_and_style_elements_are_dropped() -> None:
    html = "<p>hi</p><script>alert('x')</script><style>p { color: red }</style><p>there</p>"
    assert html_to_text(html) == "hi\n\nthere"


def test_unclosed_script_drops_the_rest_and_does_not_raise() -> None:
    assert html_to_text("<p>before</p><script>alert(1)") == "before"
