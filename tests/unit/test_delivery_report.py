import pytest

from bot.services.delivery.report import percentile


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.99, 7),
        ([1, 2, 3, 4], 0.5, 2),
        (list(range(1, 101)), 0.99, 99),
        (list(range(1, 101)), 0.50, 50),
        (list(range(1, 1001)), 0.99, 990),
    ],
)
def test_nearest_rank_percentiles(values: list[int], fraction: float, expected: int | None) -> None:
    assert percentile(values, fraction) == expected
