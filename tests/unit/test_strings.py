"""The text rules of `puras_nb.strings`, which every layer shares."""

from __future__ import annotations

from puras_nb.strings import cut, flat, has_control, mask_key, plain


def test_cut_keeps_short_text_and_ends_cut_text_with_an_ellipsis():
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "ab…"
    assert len(cut("x" * 500, 80)) == 80


def test_plain_blanks_every_control_character_and_has_control_finds_them():
    raw = "a\x1b[31mb\rc\nd\x07e\x7ff\x85g\tok"
    text = plain(raw)
    assert text == "a [31mb c d e f g ok" and len(text) == len(raw)
    assert has_control(raw) and not has_control(text)
    assert plain(12) == "12" and not has_control("naïve — ✓")


def test_mask_key_keeps_the_prefix_and_last_four_only():
    assert mask_key("puras_live_abcdefghijklmnop") == "puras_live_…mnop"
    assert mask_key("short") == "…"


def test_flat_folds_every_line_break_and_run_of_space():
    raw = "a\rb\nc\u2028d\u2029e\x85f\x0bg\x0ch\x1ci  \tj"
    assert flat(raw) == "a b c d e f g h i j"
    assert flat(raw).splitlines() == [flat(raw)]
    assert flat("x" * 50, 10) == "x" * 9 + "…" and flat(None) == "None"
