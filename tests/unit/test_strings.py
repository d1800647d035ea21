"""The text rules of `puras_nb.strings`, which every layer shares."""

from __future__ import annotations

from puras_nb.strings import cut, flat, has_control, mask_key, plain


def test_cut_keeps_short_text_and_ends_cut_text_with_an_ellipsis():
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "ab…"
    assert len(cut("x" * 500, 80)) == 80


def test_plain_drops_escape_sequences_blanks_other_controls_and_has_control_finds_them():
    raw = "a\x1b[31mb\rc\nd\x07e\x7ff\x85g\tok"
    text = plain(raw)
    assert text == "ab c d e f g ok"
    assert has_control(raw) and not has_control(text)
    assert plain(12) == "12" and not has_control("naïve — ✓")
    # a hyperlink (OSC 8) keeps its text, a title (OSC 0) goes; short ESC sequences go; a stray ESC is blanked
    assert plain("\x1b]8;;https://x.example\x07here\x1b]8;;\x1b\\ \x1b]0;title\x9c!") == "here !"
    assert plain("\x1bc\x1b7\x1b(Bz \x1b") == "z  "
    assert plain("\x9b2Jx \x1b]unterminated") == "x unterminated"


def test_mask_key_keeps_the_prefix_and_last_four_only():
    assert mask_key("puras_live_abcdefghijklmnop") == "puras_live_…mnop"
    assert mask_key("short") == "…"


def test_flat_folds_every_line_break_and_run_of_space():
    raw = "a\rb\nc\u2028d\u2029e\x85f\x0bg\x0ch\x1ci  \tj"
    assert flat(raw) == "a b c d e f g h i j"
    assert flat(raw).splitlines() == [flat(raw)]
    assert flat("x" * 50, 10) == "x" * 9 + "…" and flat(None) == "None"
    assert flat("  job 1 failed:\r\n\x1b[1mboom\x1b[0m\t \x07 ") == "job 1 failed: boom"
