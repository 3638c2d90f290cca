"""format_score_sparkline's rendering, as HarnessSync 0.1.4 draws it."""
from harnesssync import sparkline


def entries(*scores):
    return [{"timestamp": "t", "score": s, "label": ""} for s in scores]


def test_no_history():
    assert sparkline.render([], 20) == "(no history)"


def test_pads_with_the_oldest_score_on_the_left():
    assert sparkline.render(entries(0, 100), 5) == "    █  100/100"


def test_levels():
    # level = int(score / 100 * 8.5), at most 8
    assert [sparkline.level(s) for s in (0, 11, 12, 50, 94, 95, 100)] == [0, 0, 1, 4, 7, 8, 8]
    assert sparkline.render(entries(*range(0, 101, 25)), 5) == " ▂▄▆█  100/100"


def test_newest_score_printed_as_python_prints_it():
    assert sparkline.render(entries(80, 80), 3).endswith("  80/100")
    assert sparkline.render(entries(84.5), 1) == "▇  84.5/100"
    assert sparkline.render(entries(80.0), 2) == "▆▆  80.0/100"


def test_keeps_the_last_width():
    assert sparkline.render(entries(100, 100, 0), 2) == "█   0/100"


def test_last_n_matches_the_original_cut():
    e = list(range(10))
    assert sparkline.last_n(e, 3) == [7, 8, 9]
    assert sparkline.last_n(e, 30) == e
    assert sparkline.last_n(e, 0) == e          # entries[-0:] is everything
    assert sparkline.last_n(e, -2) == e[2:]
    assert sparkline.last_n([], 5) == []
