"""Money is exact and currency-safe; timestamps are UTC-aware; business dates are Beijing dates."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from svckit.money import CurrencyMismatch, Money, MoneyModel
from svckit.timeutil import UtcDatetime, business_date


def test_arithmetic_is_exact_and_rounds_half_up_to_the_cent() -> None:
    total = sum((Money.of("0.10", "CNY") for _ in range(3)), Money.zero("CNY"))
    assert total == Money.of("0.30", "CNY")
    assert Money.of("2.345", "CNY").rounded() == Money.of("2.35", "CNY")
    assert Money.of("-2.345", "CNY").rounded() == Money.of("-2.35", "CNY")
    assert Money.of("100", "CNY").times(Decimal("0.19")).rounded().amount == Decimal("19.00")


def test_currencies_never_mix_and_floats_are_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money.of("1", "CNY") + Money.of("1", "USD")
    with pytest.raises(TypeError):
        Money.of(0.1, "CNY")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported currency"):
        Money.of("1", "XXX")


def test_allocation_never_loses_or_invents_a_cent() -> None:
    parts = Money.of("100.00", "CNY").allocate([1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum((p for p in parts), Money.zero("CNY")) == Money.of("100.00", "CNY")
    weighted = Money.of("0.05", "CNY").allocate([Decimal("0.7"), Decimal("0.3")])
    assert sum(p.amount for p in weighted) == Decimal("0.05")


def test_money_at_the_edge_refuses_json_floats_but_takes_decimal_strings() -> None:
    assert MoneyModel.model_validate({"amount": "1234.50"}).to_money() == Money.of("1234.50", "CNY")
    with pytest.raises(ValidationError):
        MoneyModel.model_validate({"amount": 1234.5})
    with pytest.raises(ValidationError):
        MoneyModel.model_validate({"amount": "1", "currency": "cny"})


def test_naive_timestamps_are_refused_and_business_dates_are_beijing_dates() -> None:
    class Stamp(BaseModel):
        at: UtcDatetime

    with pytest.raises(ValidationError):
        Stamp.model_validate({"at": "2026-11-23T08:00:00"})
    stamp = Stamp.model_validate({"at": "2026-11-23T08:00:00+08:00"})
    assert stamp.at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    # 16:30 UTC on the 22nd is already 00:30 on the 23rd in Beijing.
    assert business_date(datetime(2026, 11, 22, 16, 30, tzinfo=UTC)).isoformat() == "2026-11-23"
