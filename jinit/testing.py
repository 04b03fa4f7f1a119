"""Checking that an initializer draws the law it claims."""

from jinit._src.diagnostics.testing import LawCheck as LawCheck
from jinit._src.diagnostics.testing import Statistic as Statistic
from jinit._src.diagnostics.testing import assert_moments as assert_moments
from jinit._src.diagnostics.testing import check_moments as check_moments

__all__ = ["LawCheck", "Statistic", "assert_moments", "check_moments"]
