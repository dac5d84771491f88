"""Money as an exact Decimal with its currency; never a float, never mixed currencies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# ISO 4217 minor units of the currencies this business handles.
MINOR_UNITS: dict[str, int] = {"CNY": 2, "HKD": 2, "USD": 2, "EUR": 2, "JPY": 0}


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies met in one calculation."""


def _exponent(currency: str) -> Decimal:
    try:
        return Decimal(1).scaleb(-MINOR_UNITS[currency])
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money amount must be a Decimal (never a float)")
        if not self.amount.is_finite():
            raise ValueError("Money amount must be finite")
        _exponent(self.currency)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        if isinstance(amount, float):
            raise TypeError("Money amount must not be a float")
        try:
            return cls(Decimal(amount), currency)
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {amount!r}") from None

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def times(self, factor: Decimal | int) -> Money:
        """Multiply by an exact rate; the result keeps full precision until `rounded()`."""
        if isinstance(factor, float):
            raise TypeError("rates must be Decimal, not float")
        return Money(self.amount * factor, self.currency)

    def rounded(self, rounding: str = ROUND_HALF_UP) -> Money:
        """To the currency's minor unit; half-up (四舍五入) unless a rule says otherwise."""
        return Money(self.amount.quantize(_exponent(self.currency), rounding=rounding), self.currency)

    def allocate(self, weights: list[int] | list[Decimal]) -> list[Money]:
        """Split into parts proportional to weights that add up exactly to this amount, to the cent."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative and not all zero")
        unit = _exponent(self.currency)
        total_units = int((self.rounded().amount / unit).to_integral_value())
        total_weight = sum(Decimal(w) for w in weights)
        raw = [Decimal(total_units) * Decimal(w) / total_weight for w in weights]
        floors = [int(r) for r in raw]
        remainder = total_units - sum(floors)
        # Largest remainders get the leftover minor units; ties go to the earlier part.
        order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
        for i in order[:remainder]:
            floors[i] += 1
        return [Money(Decimal(f) * unit, self.currency) for f in floors]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. CNY")]


class MoneyModel(BaseModel):
    """Money at the API edge: the amount travels as a decimal string so no client turns it into a float."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal = Field(description="Exact decimal amount, e.g. \"1234.50\"", examples=["1234.50"])
    currency: CurrencyCode = "CNY"

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("send amounts as decimal strings, not JSON numbers with fractions")
        return value

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("amount must be finite")
        return value

    def to_money(self) -> Money:
        return Money(self.amount, self.currency)

    @classmethod
    def from_money(cls, money: Money) -> MoneyModel:
        return cls(amount=money.amount, currency=money.currency)
