"""Text whose lines break at spaces only, and file names under media: the HTML helpers behind `%puras help`,
`%puras skills` and every media caption (what the browser makes of them: tests/browser/test_text.py)."""

from __future__ import annotations

from puras_nb.api.media import Media
from puras_nb.notebook.magics import HELP, SETTINGS_NOTE, USAGE
from puras_nb.views.help import help_html
from puras_nb.views.html import media_html, name_html, words
from puras_nb.views.skill import prose


def test_words_keeps_hyphenated_and_slashed_words_whole_and_escapes() -> None:
    assert words("see demo/ugc-ad or --no-display <b>& now") == (
        'see <span class="puras-word">demo/ugc-ad</span> or <span class="puras-word">--no-display</span> '
        "&lt;b&gt;&amp; now"
    )
    assert prose("every `delay` s; try demo/echo") == (
        'every <code class="puras-word">delay</code> s; try <span class="puras-word">demo/echo</span>'
    )
    assert prose("`<script>` x") == '<code class="puras-word">&lt;script&gt;</code> x'


def test_a_file_name_keeps_its_end_and_is_whole_in_its_tooltip() -> None:
    name = "a-lighthouse-on-a-cliff-above-the-sea-in-the-early-morning-1.png"
    assert name_html(name) == (
        f'<span class="puras-name" title="{name}"><span>{name[:-8]}</span><span>ng-1.png</span></span>'
    )
    assert name_html("a.png") == '<span class="puras-name" title="a.png"><span>a.png</span></span>'
    hostile = name_html('"><img src=x onerror=alert(1)>.svg')
    assert "<img" not in hostile and "&quot;&gt;&lt;img" in hostile


def test_a_media_caption_is_its_name_on_one_line() -> None:
    media = Media(url="https://cdn.example/x/a-very-long-name-of-a-voiceover-file.wav", kind="audio",
                  mime="audio/wav", path="result.audio", name="a-very-long-name-of-a-voiceover-file.wav")
    html = media_html(media, b"RIFF0000WAVEfmt ")
    caption = html.split('<figcaption class="puras-caption">', 1)[1]
    assert caption.startswith('<span class="puras-kind">audio, no waveform · </span><span class="puras-name" '
                              'title="a-very-long-name'), "a broken WAV has no waveform: the caption says so"


def test_help_html_has_every_subcommand_words_whole_and_no_math() -> None:
    html = help_html([(USAGE[k], HELP[k]) for k in USAGE], SETTINGS_NOTE)
    assert "mathjax_ignore" in html and html.count('class="puras-help-usage"') == len(USAGE)
    assert '<span class="puras-word">[--version N]</span>' in html
    assert '<span class="puras-word">--no-cancel-on-interrupt]</span>' in html  # a long group breaks at spaces
    assert "$rows" in html and "(--retry-failed)" in html
